"""The model catalog: what each base model supports, loaded from YAML that users can override.

An override file `ftops.catalog.yaml` in the project root is merged over the shipped one model by
model (a model entry given there replaces the shipped entry whole; new models are added).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .._exceptions import FtopsError

OVERRIDE_FILE = "ftops.catalog.yaml"
_FT_MODEL = re.compile(r"^(?P<base>.+)\.ft-[0-9a-f]{32}(?:-[A-Za-z0-9_-]+)?$")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    encoding: str
    methods: tuple[str, ...]
    vision: bool
    max_example_tokens: int
    training: dict[str, tuple[str, ...]]  # training type -> regions ("*" = all)
    deployment: dict[str, tuple[str, ...]]  # sku -> regions
    training_price: dict[str, float]  # training type -> USD per 1M trained tokens
    hosting_price: dict[str, float]  # sku -> USD per hour

    def training_regions(self, training_type: str) -> tuple[str, ...] | None:
        return self.training.get(training_type)

    @staticmethod
    def allows(regions: tuple[str, ...] | None, region: str) -> bool:
        return regions is not None and ("*" in regions or region.lower() in regions)


@dataclass(frozen=True)
class Catalog:
    models: dict[str, ModelInfo]
    suffix_pattern: str
    suffix_max: int
    min_examples: int
    recommended_examples: int
    max_file_bytes: int

    def get(self, model: str) -> ModelInfo | None:
        """The entry for a base model, or for the base a fine-tuned model id was trained from."""
        if model in self.models:
            return self.models[model]
        m = _FT_MODEL.match(model)
        if m and m.group("base") in self.models:
            return self.models[m.group("base")]
        return None

    def suffix_ok(self, suffix: str) -> bool:
        return bool(re.fullmatch(self.suffix_pattern, suffix)) and len(suffix) <= self.suffix_max


def _parse(data: dict[str, Any]) -> Catalog:
    d = data.get("defaults", {})
    models = {}
    for name, m in data.get("models", {}).items():
        price = m.get("price", {})
        models[name] = ModelInfo(
            name=name,
            encoding=m["encoding"],
            methods=tuple(m["methods"]),
            vision=bool(m.get("vision", False)),
            max_example_tokens=int(m["maxExampleTokens"]),
            training={k: tuple(v) for k, v in m.get("training", {}).items()},
            deployment={k: tuple(v) for k, v in m.get("deployment", {}).items()},
            training_price={k: float(v) for k, v in price.get("trainingPerMillionTokens", {}).items()},
            hosting_price={k: float(v) for k, v in price.get("hostingPerHour", {}).items()},
        )
    return Catalog(
        models=models,
        suffix_pattern=d["suffix"]["pattern"],
        suffix_max=int(d["suffix"]["maxLength"]),
        min_examples=int(d["minExamples"]),
        recommended_examples=int(d["recommendedExamples"]),
        max_file_bytes=int(d["maxFileBytes"]),
    )


@lru_cache(maxsize=8)
def _load(override: str | None) -> Catalog:
    data = yaml.safe_load(resources.files("ftops.catalog").joinpath("models.yaml").read_text("utf-8"))
    if override is not None:
        try:
            extra = yaml.safe_load(Path(override).read_text("utf-8")) or {}
            data["models"].update(extra.get("models", {}))
            data["defaults"].update(extra.get("defaults", {}))
            return _parse(data)
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as e:
            raise FtopsError(f"cannot read catalog override: {e}", path=override) from None
    return _parse(data)


def load_catalog(root: Path | None = None) -> Catalog:
    """The shipped catalog, merged with `ftops.catalog.yaml` under `root` when that file exists."""
    override = root / OVERRIDE_FILE if root is not None else None
    return _load(str(override) if override is not None and override.is_file() else None)
