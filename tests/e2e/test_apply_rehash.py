"""Apply re-hashes the bytes it sends: a dataset edited after the plan (same size, same mtime) is refused."""

from __future__ import annotations

import os

from ftops.apply import FAILED, SKIPPED, apply_plan
from ftops.emulator import launch
from ftops.plan import make_plan
from ftops.session import open_session
from tests.e2e.conftest import Project


def test_bytes_changed_after_the_plan_are_never_uploaded(project: Project) -> None:
    data = project.root / "specs" / "data" / "clippy.train.jsonl"
    with open_session(project.root / "specs", launcher=launch) as s:
        plan = make_plan(s.checked, s.client)
        st = os.stat(data)
        original = data.read_bytes()
        data.write_bytes(original.replace(b"Clippy", b"Clipzz"))  # same size
        os.utime(data, ns=(st.st_atime_ns, st.st_mtime_ns))  # same mtime: only the bytes tell
        result = apply_plan(plan, s.checked, s.client)
        states = {o.action_id: o for o in result.outcomes}
        assert states["dataset.clippy-train:create"].state == FAILED
        assert "not the file the plan was made for" in states["dataset.clippy-train:create"].message
        assert states["job.clippy:create"].state == SKIPPED
        names = [f.filename for f in s.client.list_files()]
    assert not any(".clippy-train." in n for n in names)  # nothing of the changed file went up
