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
