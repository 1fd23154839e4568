"""The local Foundry's state directory is created with a `.gitignore` of `*` (it holds its keys)."""

from __future__ import annotations

from pathlib import Path

from ftops.emulator._statedir import make_state_dir


def test_the_topmost_directory_created_ignores_everything(tmp_path: Path) -> None:
    make_state_dir(tmp_path / "state" / "emulator")
    assert (tmp_path / "state" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert not (tmp_path / "state" / "emulator" / ".gitignore").exists()


def test_an_existing_directory_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "mine").mkdir()
    make_state_dir(tmp_path / "mine")
    assert list((tmp_path / "mine").iterdir()) == []
