"""Read-only commands do not import apply (issue 15, item 4): `plan`, `drift`, `status`, `metrics`,
`catalog`, `validate` and `merge-plans` run against the local Foundry in a fresh interpreter, which then holds no
`ftops.apply` module. Connecting and plan files live in `ftops.session`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import ROOT

COMMANDS = [["validate"], ["catalog"], ["plan", "--out", "plan.json"], ["drift"], ["status"],
            ["metrics", "clippy"], ["catalog", "--live"], ["merge-plans", "plan.json"]]
RUN = """
import sys
from ftops.cli import main
for args in {commands!r}:
    try:
        main(args)
    except SystemExit as e:
        print("exit", args[0], e.code, file=sys.stderr)
print(sorted(m for m in sys.modules if m == "ftops.apply" or m.startswith("ftops.apply.")))
print("ftops.session" in sys.modules)
"""


def test_read_only_commands_do_not_import_apply(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "FTOPS_LOCAL_FOUNDRY": "thread"}
    r = subprocess.run([sys.executable, "-c", RUN.format(commands=COMMANDS)], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=300)
    lines = r.stdout.strip().splitlines()
    assert lines[-2:] == ["[]", "True"], r.stdout[-2000:] + r.stderr[-2000:]
    assert "exit plan 0" in r.stderr and "exit merge-plans 0" in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert (tmp_path / "plan.json").is_file()


def test_the_command_modules_import_no_apply_module() -> None:
    code = ("import sys, ftops.cli, ftops.cli.commands, ftops.cli._render, ftops.cli._local, ftops.session\n"
            "print([m for m in sys.modules if m.startswith('ftops.apply')])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.stdout.strip() == "[]", r.stdout + r.stderr


# What `plan` of specs whose data was checked before (hash cache) never needs (issue 20, start-up): `ftops import`'s
# decisions, merge-plans, metrics and downloads, the tokenizer, and the process pool of a dataset scan.
NOT_FOR_PLAN = ["ftops.plan._import_specs", "ftops.session._merged_plans", "ftops.foundry._results",
                "ftops.foundry._downloads", "tiktoken", "multiprocessing", "concurrent.futures.process",
                "openai.resources.fine_tuning",  # listings go through openai's generic GET
                "httpx"]  # openai 3's own is httpx2 (ftops._http): importing httpx beside its requests can fail them
PLAN_AGAIN = """
import sys
from ftops.cli import main
try:
    main(["plan", "specs"])
except SystemExit as e:
    print("exit", e.code, file=sys.stderr)
print(sorted(m for m in {unwanted!r} if m in sys.modules))
"""


def test_a_plan_loads_only_what_it_uses(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    code = PLAN_AGAIN.format(unwanted=NOT_FOR_PLAN)
    first = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=300)
    assert "exit 0" in first.stderr, first.stderr[-2000:]  # it counted the tokens (tiktoken) and cached them
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert "exit 0" in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout[-2000:]


def test_the_names_loaded_on_first_use_resolve() -> None:
    code = ("from ftops.plan import decide_import, DATA_DIR\n"
            "from ftops.session import merge_plan_files, MergedPlans\n"
            "from ftops.foundry import read_job_metrics, download_file\n"
            "import ftops.plan\n"
            "try:\n    ftops.plan.no_such_name\nexcept AttributeError as e:\n    print('AttributeError', e)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "AttributeError module 'ftops.plan' has no attribute 'no_such_name'" in r.stdout, \
        r.stdout + r.stderr


APPLY_MODULES = """
import sys
from ftops.cli import main
try:
    main(["apply", "specs", "--auto-approve"])
except SystemExit as e:
    print("exit", e.code, file=sys.stderr)
print(sorted(m for m in ("httpx", "click", "pygments") if m in sys.modules))
"""


def test_an_apply_does_not_load_a_second_http_client(tmp_path: Path) -> None:
    """httpx (with click and pygments: 20 ms of start-up) is not openai 3's: a notice is sent with openai's httpx2
    (`ftops._http`), and importing httpx beside openai's requests can fail them."""
    shutil.copytree(ROOT / "specs", tmp_path / "specs")
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    r = subprocess.run([sys.executable, "-c", APPLY_MODULES], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert "exit 0" in r.stderr and "Traceback" not in r.stderr, r.stderr[-2000:]
    assert r.stdout.strip().splitlines()[-1] == "[]", r.stdout[-2000:]
