"""`ftops import` where the disk is in the way: `data` is a file, the data directory cannot be written. One
line naming the path, exit 1, no spec file written; never a traceback, never blamed on Foundry."""

from __future__ import annotations

from tests.e2e.conftest import TRAIN, Project
from tests.e2e.test_import import _foundry_only


def _a_hand_made_job(project: Project) -> None:
    _foundry_only(project)
    with project.live() as live:
        job = live.job(live.upload(TRAIN), suffix="support-bot")
        live.admin.advance(seconds=4 * 3600)
        assert live.wait_job(job.id).status == "succeeded"


def test_a_file_named_data_where_the_data_directory_goes_is_one_line(project: Project) -> None:
    _a_hand_made_job(project)
    (project.root / "specs" / "sub").mkdir()
    (project.root / "specs" / "sub" / "data").write_text("not a directory")
    r = project.ftops("import", "specs", "--out", "specs/sub/imported.yaml")
    assert r.code == 1, r.out + r.err
    assert "Traceback" not in r.err and "internal error" not in r.err and r.err.count("\n") == 1, r.err
    assert "sub/data" in r.err and "Foundry" not in r.err
    assert not (project.root / "specs" / "sub" / "imported.yaml").exists()


def test_a_data_file_that_cannot_be_written_is_one_line_not_blamed_on_foundry(project: Project) -> None:
    """The download's temporary file is in the way (a directory): a local failure, not Foundry's refusal."""
    _a_hand_made_job(project)
    (project.root / "specs" / "sub" / "data" / ".clippy-train.jsonl.part").mkdir(parents=True)
    r = project.ftops("import", "specs", "--out", "specs/sub/imported.yaml")
    assert r.code == 1, r.out + r.err
    assert "Traceback" not in r.err and "internal error" not in r.err and r.err.count("\n") == 1, r.err
    assert "Foundry" not in r.err and "clippy-train.jsonl" in r.err
    assert not (project.root / "specs" / "sub" / "imported.yaml").exists()


def test_an_out_that_is_not_a_regular_file_is_refused_even_with_force(project: Project) -> None:
    """`--out /dev/stdout --force` (root in a CI container) renamed a file over /dev/stdout; a FIFO here."""
    import os
    import stat

    _a_hand_made_job(project)
    fifo = project.root / "specs" / "pipe.yaml"
    os.mkfifo(fifo)
    r = project.ftops("import", "specs", "--out", "specs/pipe.yaml", "--force")
    assert r.code == 1, r.out + r.err
    assert "not a regular file" in r.err and r.err.count("\n") == 1, r.err
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
