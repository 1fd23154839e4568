"""Names of a package loaded on first use (PEP 562): a module a command rarely needs (`ftops import`'s
decisions, `merge-plans`, job metrics) stays out of every other command's start-up, while its names stay
public on the package (typed for mypy under `TYPE_CHECKING` there)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping
from importlib import import_module
from typing import Any


def lazy_names(package: str, table: Mapping[str, str], namespace: MutableMapping[str, Any]
               ) -> Callable[[str], object]:
    """The package's `__getattr__`: a name of `table` from its private module (`table[name]`, relative to
    `package`), loaded on first use and then kept in the package's `namespace` (its globals())."""
    def __getattr__(name: str) -> object:
        if name not in table:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(f".{table[name]}", package), name)
        namespace[name] = value
        return value

    return __getattr__
