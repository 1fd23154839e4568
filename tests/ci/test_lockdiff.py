"""ci/lockdiff.py: what `make test-latest` installed that differs from uv.lock."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _lockdiff() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lockdiff", ROOT / "ci" / "lockdiff.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _venv(tmp_path: Path, *dists: str) -> Path:
    site = tmp_path / "venv" / "lib" / "python3.11" / "site-packages"
    for dist in dists:
        (site / f"{dist}.dist-info").mkdir(parents=True)
    return tmp_path / "venv"


LOCK = '''version = 1
[[package]]
name = "PyYAML"
version = "6.0.3"
[[package]]
name = "typing-extensions"
version = "4.15.0"
[[package]]
name = "ftops"
source = { editable = "." }
'''


def test_it_names_each_package_newer_than_the_lock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "uv.lock").write_text(LOCK)
    venv = _venv(tmp_path, "pyyaml-6.0.4", "typing_extensions-4.15.0", "newdep-1.0", "pip-25.0", "ftops-0.1.0")
    assert _lockdiff().main([str(tmp_path / "uv.lock"), str(venv)]) == 0
    out = capsys.readouterr().out
    assert "2 package(s) differ" in out and "pyyaml: locked 6.0.3, latest 6.0.4" in out
    assert "newdep: not in the lock, latest 1.0" in out and "typing" not in out and "pip" not in out


def test_the_same_versions_say_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "uv.lock").write_text(LOCK)
    venv = _venv(tmp_path, "PyYAML-6.0.3", "typing_extensions-4.15.0")
    assert _lockdiff().main([str(tmp_path / "uv.lock"), str(venv)]) == 0
    assert "are the locked ones" in capsys.readouterr().out


def test_the_real_lock_parses() -> None:
    locked = _lockdiff().locked(ROOT / "uv.lock")
    assert "pyyaml" in locked and "openai" in locked and "uv" not in locked
