"""`ftops validate --no-tokens` reads its data files ahead while the command line loads (`cli/_ahead`,
`datasets/_ahead`): as a user runs it (the console script's `run`), it reports exactly what the command line
without reading ahead (`main`) reports: the same lines, exit code and hash cache, whether the files read
ahead are taken or not."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ftops.cli._ahead import read_ahead_dir
from tests.conftest import BASE_SPEC, FOUNDRY, MakeProject, chat_line

TAKEN = "read ahead, taken:"
NOT_TAKEN = "read ahead, not taken"
# The console script (`run`: reads ahead) and the command line without it (`main`), as processes.
RUN = "import sys; sys.argv[0] = 'ftops'; from ftops.cli import run; run()"
MAIN = "import sys; sys.argv[0] = 'ftops'; from ftops.cli import main; main()"
NO_JOBS = FOUNDRY + """---
apiVersion: ftops/v1
kind: Dataset
metadata: {name: train}
spec: {path: data/train.jsonl}
"""


def big_dataset(lines: dict[int, str] | None = None, n: int = 44_000) -> bytes:
    """About 9 MiB of chat records (more than the 8 MiB from which a scan uses workers), `lines` replaced."""
    lines = lines or {}
    return "".join(lines.get(i, chat_line(i)) + "\n" for i in range(1, n + 1)).encode()


BAD = {5: "", 20_000: '{"messages": [', 30_000: chat_line(3, extra_key=1),
       40_000: json.dumps({"messages": [{"role": "user", "content": "hi", "weight": 1},
                                        {"role": "assistant", "content": "ho"}]})}
IMAGE = json.dumps({"messages": [{"role": "user", "content": [{"type": "text", "text": "what is it?"},
                                                              {"type": "image_url", "image_url": {"url": "x"}}]},
                                 {"role": "assistant", "content": "a cat"}]})


def validate(root: Path, how: str, *args: str) -> subprocess.CompletedProcess[str]:
    shutil.rmtree(root / ".ftops", ignore_errors=True)
    env = {**os.environ, "FTOPS_LOG_LEVEL": "DEBUG", "CI": "1"}
    return subprocess.run([sys.executable, "-c", how, "validate", "--no-tokens", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def cache(root: Path) -> object:
    return json.loads((root / ".ftops" / "cache" / "datasets.json").read_text())


def same_report(root: Path, *args: str) -> str:
    """Validate as a user runs it and without reading ahead; both report the same. The first's stderr."""
    ahead = validate(root, RUN, *args)
    ahead_cache = cache(root) if ahead.returncode == 0 or (root / ".ftops" / "cache").exists() else None
    plain = validate(root, MAIN, *args)
    assert "read ahead" not in plain.stderr
    assert (ahead.returncode, ahead.stdout) == (plain.returncode, plain.stdout)
    shown = [line for line in ahead.stderr.splitlines() if not line.startswith("DEBUG")]
    assert shown == [line for line in plain.stderr.splitlines() if not line.startswith("DEBUG")]
    if ahead_cache is not None:
        assert ahead_cache == cache(root)
    return ahead.stderr


def test_a_file_read_ahead_is_taken_and_reports_the_same(make_project: MakeProject) -> None:
    root = make_project(files={"specs/data/train.jsonl": big_dataset(BAD)})  # a job on a model without vision
    err = same_report(root)
    assert TAKEN in err and "specs/data/train.jsonl:20000: invalid JSON" in err
    assert "specs/data/train.jsonl:5: blank line" in err and "specs/data/train.jsonl:40000: messages[0]" in err


def test_a_clean_file_read_ahead_fills_the_same_cache(make_project: MakeProject) -> None:
    root = make_project(files={"specs/data/train.jsonl": big_dataset()})
    assert TAKEN in same_report(root)


def test_without_vision_read_ahead_serves_a_vision_model_where_nothing_needs_vision(make_project: MakeProject) -> None:
    root = make_project(spec=NO_JOBS, files={"specs/data/train.jsonl": big_dataset()})  # no job: vision allowed
    assert TAKEN in same_report(root)


def test_an_image_part_keeps_a_vision_model_from_taking_a_file_read_ahead(make_project: MakeProject) -> None:
    root = make_project(spec=NO_JOBS, files={"specs/data/train.jsonl": big_dataset({30_000: IMAGE})})
    assert NOT_TAKEN in same_report(root)
    root_no_vision = make_project(files={"specs/data/train.jsonl": big_dataset({30_000: IMAGE})})
    err = same_report(root_no_vision)  # without vision, the image is checked as read ahead: an error there too
    assert TAKEN in err and "specs/data/train.jsonl:30000: messages[0].content[1]: image_url needs" in err


def test_a_format_other_than_the_files_is_checked_again(make_project: MakeProject) -> None:
    spec = BASE_SPEC.replace("method: supervised", "method: dpo").replace(
        "baseModel: gpt-4.1-mini-2025-04-14", "baseModel: gpt-4.1-2025-04-14")
    root = make_project(spec=spec, files={"specs/data/train.jsonl": big_dataset()})
    err = same_report(root)
    assert NOT_TAKEN in err and "record is in chat format" in err


def test_a_warm_cache_reads_nothing_ahead(make_project: MakeProject) -> None:
    root = make_project(files={"specs/data/train.jsonl": big_dataset()})
    env = {**os.environ, "FTOPS_LOG_LEVEL": "DEBUG", "CI": "1"}
    argv = [sys.executable, "-c", RUN, "validate", "--no-tokens"]
    assert subprocess.run(argv, cwd=root, env=env, capture_output=True, timeout=120).returncode == 0
    warm = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert warm.returncode == 0 and "read ahead" not in warm.stderr


def test_a_spec_error_ends_the_command_as_before(make_project: MakeProject) -> None:
    spec = BASE_SPEC.replace("validationData: valid", "validationData: missing")
    root = make_project(spec=spec, files={"specs/data/train.jsonl": big_dataset()})
    err = same_report(root)
    assert "read ahead" not in err and "missing" in err


@pytest.mark.parametrize(("args", "spec_dir"), [
    (["validate", "--no-tokens"], "specs"),
    (["validate", "other", "--no-tokens", "-f", "json"], "other"),
    (["validate", "--no-tokens", "--format=text", "dir"], "dir"),
    # One Foundry's datasets: the lead cannot tell which, and the command would wait while it scanned the others'
    (["validate", "other", "--no-tokens", "-f", "json", "--foundry", "dev"], None),
    (["validate", "--no-tokens", "--format=text", "--foundry=x", "dir"], None),
    (["validate", "--tokens", "--no-tokens"], "specs"),
    (["validate"], None),  # tokens are counted: not read ahead
    (["validate", "--no-tokens", "--tokens"], None),
    (["validate", "--no-tokens", "--help"], None),
    (["validate", "--no-tokens", "a", "b"], None),  # a usage error: the parser's to report
    (["validate", "--no-tokens", "--format"], None),
    (["validate", "--no-tokens", "--", "specs"], None),
    (["plan", "--no-tokens"], None),
    ([], None),
])
def test_only_validate_without_tokens_reads_ahead(args: list[str], spec_dir: str | None) -> None:
    assert read_ahead_dir(args) == (Path(spec_dir) if spec_dir is not None else None)


def test_a_foundry_chosen_by_the_environment_reads_nothing_ahead() -> None:
    assert read_ahead_dir(["validate", "--no-tokens"], {"FTOPS_FOUNDRY": "dev"}) is None
    assert read_ahead_dir(["validate", "--no-tokens"], {"FTOPS_FOUNDRY": ""}) == Path("specs")


def test_a_file_below_the_worker_size_is_not_read_ahead(make_project: MakeProject) -> None:
    root = make_project()  # 60 and 12 examples: checked in-process, where reading ahead saves nothing
    err = same_report(root)
    assert "read ahead" not in err


# Ctrl-C while the lead forks (the terminal's SIGINT landing in fork's handlers): an at-fork handler that sends
# it in the parent right after the fork, where it once was raised inside logging's own handler and lost ("Exception
# ignored"): the command then ran to the end as if no Ctrl-C had come.
CTRL_C_AT_FORK = ("import os, signal, sys; sys.argv[0] = 'ftops'; "
                  "os.register_at_fork(after_in_parent=lambda: os.kill(os.getpid(), signal.SIGINT)); "
                  "from ftops.cli import run; run()")


def test_ctrl_c_while_the_lead_forks_ends_the_command_as_ctrl_c_does(make_project: MakeProject) -> None:
    root = make_project(files={"specs/data/train.jsonl": big_dataset()})
    r = validate(root, CTRL_C_AT_FORK)
    assert (r.returncode, r.stdout) == (130, "")
    assert r.stderr == "interrupted: nothing half-done is left that the next apply cannot finish\n"


# A command run with its standard input and output closed (`<&- >&-`): the lead's pipe would get descriptors 0
# and 1, and its end become /dev/null where the lead lets go of the command's streams.
def test_a_command_without_standard_streams_still_takes_what_was_read_ahead(make_project: MakeProject) -> None:
    root = make_project(files={"specs/data/train.jsonl": big_dataset()})
    env = {**os.environ, "FTOPS_LOG_LEVEL": "DEBUG", "CI": "1"}
    r = subprocess.run(["bash", "-c", 'exec "$0" -c "$1" validate --no-tokens <&- >&-', sys.executable, RUN],
                       cwd=root, env=env, capture_output=True, text=True, timeout=120)
    assert TAKEN in r.stderr, r.stderr
