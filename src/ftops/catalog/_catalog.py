"""The model catalog: what each base model supports, loaded from YAML that users can override.

An override file `ftops.catalog.yaml` in the project root is merged over the shipped one model by
model (a model entry given there replaces the shipped entry whole; new models are added).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from .._exceptions import FtopsError
from .._vocabulary import MODEL_FORMAT_PATTERN, SkuName, TrainingType
from .._yaml import YamlError, load_documents

OVERRIDE_FILE = "ftops.catalog.yaml"
MAX_OVERRIDE_BYTES = 1 << 20
_FT_MODEL = re.compile(r"^(?P<base>.+)\.ft-[0-9a-f]{32}(?:-[A-Za-z0-9_-]+)?$")


# The rules a model's entry states, each of which can cite its own page (`sources:` in the YAML).
Topic = Literal["methods", "training", "deployment", "pauseResume", "continuousFineTuning", "tokens", "prices"]
TOPICS: tuple[Topic, ...] = get_args(Topic)


@dataclass(frozen=True)
class Source:
    """A page a catalog entry was read from, and the day it was read (`checked`; None: not said)."""

    url: str
    checked: str | None = None
    title: str | None = None

    def cite(self) -> str:
        """`source: <url>, read <date>`: the tail of every catalog-based error."""
        return f"source: {self.url}" + (f", read {self.checked}" if self.checked else "")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    encoding: str
    methods: tuple[str, ...]
    vision: bool
    max_example_tokens: int | None  # None: no limit published
    training: dict[str, tuple[str, ...]]  # training type -> regions ("*" = all)
    deployment: dict[str, tuple[str, ...]]  # sku -> regions
    training_price: dict[str, float]  # training type -> USD per 1M trained tokens
    hosting_price: dict[str, float]  # sku -> USD per hour
    source: Source = field(default_factory=lambda: Source(OVERRIDE_FILE))
    sources: dict[str, Source] = field(default_factory=dict)  # topic -> page, where it differs from `source`
    title: str = ""
    format: str | None = None  # the ARM model format (OpenAI, Mistral AI, Meta, ...)
    status: str = "GA"
    access: str = "open"
    foundry_resources_only: bool = False
    pause_resume: bool = True
    continuous_fine_tuning: bool = True
    notes: str = ""

    def training_regions(self, training_type: str) -> tuple[str, ...] | None:
        return self.training.get(training_type)

    def cite(self, topic: Topic) -> str:
        """Where the rule on `topic` comes from, as the tail of an error message."""
        return self.sources.get(topic, self.source).cite()

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
        return len(suffix) <= self.suffix_max and bool(re.fullmatch(self.suffix_pattern, suffix))


NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Count = Annotated[int, Field(strict=True, ge=1)]
Regions = list[Annotated[str, StringConstraints(min_length=1, max_length=64)]]
Text = Annotated[str, StringConstraints(min_length=1, max_length=300)]
PageName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,39}$")]


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Page(_Entry):
    url: Annotated[str, StringConstraints(pattern=r"^https://\S{1,490}$")]
    checked: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$")] | None = None
    title: Text | None = None

    @field_validator("checked")
    @classmethod
    def _a_date(cls, value: str | None) -> str | None:
        if value is not None:
            dt.date.fromisoformat(value)  # ValueError: pydantic reports it at the field
        return value


PageRef = PageName | _Page  # a key of `pages`, or the page itself


class _Price(_Entry):
    trainingPerMillionTokens: dict[TrainingType, NonNegative] = Field(default_factory=dict)
    hostingPerHour: dict[SkuName, NonNegative] = Field(default_factory=dict)


class _Model(_Entry):
    title: Text | None = None
    format: Annotated[str, StringConstraints(pattern=MODEL_FORMAT_PATTERN)] | None = None
    status: Literal["GA", "public-preview", "private-preview"] = "GA"
    access: Literal["open", "invitation"] = "open"
    foundryResourcesOnly: bool = False
    encoding: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_]{1,40}$")]
    methods: Annotated[list[Literal["supervised", "dpo", "reinforcement"]], Field(min_length=1)]
    vision: bool = False
    maxExampleTokens: Count | None = None
    training: dict[TrainingType, Regions] = Field(default_factory=dict)
    deployment: dict[SkuName, Regions] = Field(default_factory=dict)
    # Learn: pausing and continuous fine-tuning are supported only for OpenAI models. An override entry that
    # does not say keeps what ftops did before (allowed); every shipped entry says.
    pauseResume: bool = True
    continuousFineTuning: bool = True
    price: _Price = Field(default_factory=_Price)
    notes: Annotated[str, StringConstraints(max_length=600)] | None = None
    source: PageRef | None = None
    sources: dict[Topic, PageRef] = Field(default_factory=dict)


# A suffix pattern is one character class with a count (the shipped `^[A-Za-z0-9_-]{1,40}$`). An override
# is untrusted (a pull request can change it), and a general regular expression such as `^(a|a)*b$` takes
# exponential time on a short suffix: `ftops validate` would hang in CI. One class with a count matches in
# linear time.
_SAFE_SUFFIX_PATTERN = re.compile(r"\^?\[(?:[^\]\\]|\\.)+\](?:[*+]|\{\d{1,3}(?:,\d{1,3})?\})\$?")


class _Suffix(_Entry):
    pattern: Annotated[str, StringConstraints(max_length=200)]
    maxLength: Annotated[int, Field(strict=True, ge=1, le=1000)]

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as e:
            raise ValueError(f"not a regular expression ({e})") from None
        if not _SAFE_SUFFIX_PATTERN.fullmatch(value):
            raise ValueError("must be one character class with a count, like ^[A-Za-z0-9_-]{1,40}$ (a general "
                             "regular expression can take exponential time to match)")
        return value


class _Defaults(_Entry):
    suffix: _Suffix | None = None
    minExamples: Count | None = None
    recommendedExamples: Count | None = None
    maxFileBytes: Count | None = None


class _CatalogFile(_Entry):
    """The shipped `models.yaml` and an override share this shape (an override may give less)."""

    pages: dict[PageName, _Page] = Field(default_factory=dict)
    regions: dict[PageName, Regions] = Field(default_factory=dict)  # named lists for YAML anchors, else unused
    defaults: _Defaults = Field(default_factory=_Defaults)
    models: dict[Annotated[str, StringConstraints(min_length=1, max_length=200)], _Model] = Field(default_factory=dict)


def _source(ref: PageRef | None, pages: dict[str, _Page], where: str) -> Source | None:
    if ref is None:
        return None
    page = pages.get(ref) if isinstance(ref, str) else ref
    if page is None:
        raise FtopsError(f"catalog override: {where} names page {ref!r}, which `pages` does not define",
                         path=OVERRIDE_FILE)
    return Source(page.url, page.checked, page.title)


def _info(name: str, m: _Model, pages: dict[str, _Page]) -> ModelInfo:
    where = f"models.{name}"
    sources: dict[str, Source] = {
        t: s for t, ref in m.sources.items() if (s := _source(ref, pages, f"{where}.sources.{t}"))}
    return ModelInfo(
        name=name,
        encoding=m.encoding,
        methods=tuple(m.methods),
        vision=m.vision,
        max_example_tokens=m.maxExampleTokens,
        training={k: tuple(v) for k, v in m.training.items()},
        deployment={k: tuple(v) for k, v in m.deployment.items()},
        training_price={str(k): v for k, v in m.price.trainingPerMillionTokens.items()},
        hosting_price={str(k): v for k, v in m.price.hostingPerHour.items()},
        # An override entry without a source is sourced by the override file itself.
        source=_source(m.source, pages, f"{where}.source") or Source(OVERRIDE_FILE),
        sources=sources, title=m.title or name, format=m.format, status=m.status, access=m.access,
        foundry_resources_only=m.foundryResourcesOnly, pause_resume=m.pauseResume,
        continuous_fine_tuning=m.continuousFineTuning, notes=m.notes or "",
    )


def _merge(shipped: _CatalogFile, override: _CatalogFile) -> Catalog:
    """A model given in the override replaces the shipped entry whole; defaults merge field by field."""
    models = {**shipped.models, **override.models}
    pages = {**shipped.pages, **override.pages}
    d, o = shipped.defaults, override.defaults
    suffix = o.suffix or d.suffix
    assert suffix is not None and d.minExamples and d.recommendedExamples and d.maxFileBytes  # shipped has all
    return Catalog(
        models={name: _info(name, m, pages) for name, m in models.items()},
        suffix_pattern=suffix.pattern,
        suffix_max=suffix.maxLength,
        min_examples=o.minExamples or d.minExamples,
        recommended_examples=o.recommendedExamples or d.recommendedExamples,
        max_file_bytes=o.maxFileBytes or d.maxFileBytes,
    )


def _parse_file(text: str, shown: str) -> _CatalogFile:
    """One catalog file, or an FtopsError at the `file:line` of its first problem."""
    try:
        docs = load_documents(text, shown)
    except YamlError as e:
        raise FtopsError(f"catalog override: {e.message}", path=shown, line=e.line) from e
    if len(docs) > 1:
        raise FtopsError("catalog override: one YAML document expected", path=shown, line=docs[1].line)
    doc = docs[0] if docs else None
    if doc is not None and not isinstance(doc.data, dict):
        raise FtopsError("catalog override: expected a mapping with `models` and/or `defaults`", path=shown,
                         line=doc.line)
    try:
        return _CatalogFile.model_validate(doc.data if doc is not None else {})
    except ValidationError as e:
        first = e.errors()[0]
        loc = tuple(first["loc"])
        where = ".".join(str(p)[:60] for p in loc)
        line = doc.line_of(_present(doc.data, loc)) if doc is not None else 1
        message = _MESSAGES.get(first["type"], first["msg"]).removeprefix("Value error, ")  # our validators' own words
        more = f" (and {e.error_count() - 1} more)" if e.error_count() > 1 else ""
        raise FtopsError(f"catalog override: {where}: {message}{more}", path=shown, line=line) from e


_MESSAGES = {"extra_forbidden": "unknown field", "missing": "missing required field"}


def _present(data: Any, loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """The longest prefix of `loc` that exists in `data` (pydantic adds union and literal tags)."""
    kept: list[Any] = []
    for part in loc:
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        else:
            break
        kept.append(part)
    return tuple(kept)


@lru_cache(maxsize=1)
def _shipped() -> _CatalogFile:
    return _parse_file(resources.files("ftops.catalog").joinpath("models.yaml").read_text("utf-8"), "models.yaml")


@lru_cache(maxsize=8)
def _load(override: str | None, shown: str, stamp: tuple[int, int] | None) -> Catalog:
    if override is None:
        return _merge(_shipped(), _CatalogFile())
    path = Path(override)
    try:
        size = path.stat().st_size
        if size > MAX_OVERRIDE_BYTES:
            raise FtopsError(f"catalog override is {size} bytes; the limit is {MAX_OVERRIDE_BYTES}", path=shown)
        text = path.read_bytes()[:MAX_OVERRIDE_BYTES].decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise FtopsError(f"catalog override is not valid UTF-8 ({e.reason})", path=shown, line=1) from e
    except OSError as e:
        raise FtopsError(f"cannot read catalog override: {e.strerror or e}", path=shown) from e
    return _merge(_shipped(), _parse_file(text, shown))


def load_catalog(root: Path | None = None) -> Catalog:
    """The shipped catalog, merged with `ftops.catalog.yaml` under `root` when that file exists."""
    override = root / OVERRIDE_FILE if root is not None else None
    if override is None or not (override.exists() or override.is_symlink()):
        return _load(None, OVERRIDE_FILE, None)
    try:
        st = override.stat()
    except OSError as e:
        raise FtopsError(f"cannot read catalog override: {e.strerror or e}", path=OVERRIDE_FILE) from e
    if not override.is_file():
        raise FtopsError("catalog override is not a regular file", path=OVERRIDE_FILE)
    # Shown relative to the project root, as spec files are; a new edit (mtime, size) is read again.
    return _load(str(override), OVERRIDE_FILE, (st.st_mtime_ns, st.st_size))
