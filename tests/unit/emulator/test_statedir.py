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


def test_an_api_key_file_without_a_key_is_refused_in_one_line(tmp_path: Path) -> None:
    """An emptied api-key file made every client fail with "internal error: OpenAIError ... please report"."""
    import pytest

    from ftops.emulator._server import _api_key

    for content, what in (("", "is empty"), ("\n", "is empty"), ("a b", "does not hold a key")):
        (tmp_path / "api-key").write_text(content)
        with pytest.raises(ValueError, match=f"api-key {what}.*: delete it and the local Foundry makes a new one"):
            _api_key(tmp_path)
    (tmp_path / "api-key").unlink()
    assert len(_api_key(tmp_path)) == 32 and _api_key(tmp_path) == (tmp_path / "api-key").read_text()
