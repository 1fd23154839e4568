from __future__ import annotations

from pathlib import Path

import pytest

from ftops import FtopsError
from ftops.catalog import TOPICS, ModelInfo, load_catalog


def test_shipped_catalog_knows_the_documented_models() -> None:
    c = load_catalog()
    assert {"gpt-4.1-2025-04-14", "gpt-4.1-mini-2025-04-14", "gpt-4o-mini-2024-07-18", "o4-mini-2025-04-16"} <= set(c.models)
    assert c.models["o4-mini-2025-04-16"].methods == ("reinforcement",)
    assert "dpo" in c.models["gpt-4.1-2025-04-14"].methods


def test_fine_tuned_ids_map_to_their_base() -> None:
    info = load_catalog().get("gpt-4.1-mini-2025-04-14.ft-" + "a" * 32)
    assert info is not None and info.name == "gpt-4.1-mini-2025-04-14"


def test_regions() -> None:
    info = load_catalog().models["gpt-4.1-mini-2025-04-14"]
    assert ModelInfo.allows(info.training_regions("GlobalStandard"), "westeurope")
    assert not ModelInfo.allows(info.training_regions("Standard"), "westeurope")


def test_suffix_rules() -> None:
    c = load_catalog()
    assert c.suffix_ok("clippy-v2_1") and not c.suffix_ok("clippy.v2") and not c.suffix_ok("x" * 41)


def test_override_file_adds_models(tmp_path: Path) -> None:
    (tmp_path / "ftops.catalog.yaml").write_text(
        "models:\n  my-model:\n    encoding: cl100k_base\n    methods: [supervised]\n    maxExampleTokens: 100\n"
        "    training: {GlobalStandard: ['*']}\n")
    c = load_catalog(tmp_path)
    assert c.models["my-model"].encoding == "cl100k_base" and "gpt-4.1-2025-04-14" in c.models


def test_broken_override_is_a_clean_error(tmp_path: Path) -> None:
    (tmp_path / "ftops.catalog.yaml").write_text("models:\n  bad: {encoding: x}\n")
    with pytest.raises(FtopsError) as e:
        load_catalog(tmp_path)
    assert str(e.value) == "ftops.catalog.yaml:2: catalog override: models.bad.methods: missing required field"


BAD_OVERRIDES = {
    "not-yaml": ("models: [\n", "ftops.catalog.yaml:2: catalog override: invalid YAML"),
    "a-list": ("- a\n- b\n", "ftops.catalog.yaml:1: catalog override: expected a mapping"),
    "a-scalar": ("42\n", "ftops.catalog.yaml:1: catalog override: expected a mapping"),
    "models-a-list": ("models: [a, b]\n", "ftops.catalog.yaml:1: catalog override: models: Input should be a valid dictionary"),
    "model-null": ("models:\n  m: null\n", "ftops.catalog.yaml:2: catalog override: models.m: Input should be"),
    "unknown-key": ("modles: {}\n", "ftops.catalog.yaml:1: catalog override: modles: unknown field"),
    "bad-method": ("models:\n  m: {encoding: o200k_base, methods: [sft], maxExampleTokens: 1}\n",
                   "ftops.catalog.yaml:2: catalog override: models.m.methods.0: Input should be"),
    "tokens-zero": ("models:\n  m: {encoding: o200k_base, methods: [dpo], maxExampleTokens: 0}\n",
                    "ftops.catalog.yaml:2: catalog override: models.m.maxExampleTokens"),
    "tokens-bool": ("models:\n  m: {encoding: o200k_base, methods: [dpo], maxExampleTokens: true}\n",
                    "ftops.catalog.yaml:2: catalog override: models.m.maxExampleTokens"),
    "price-nan": ("models:\n  m:\n    encoding: o200k_base\n    methods: [dpo]\n    maxExampleTokens: 1\n"
                  "    price: {hostingPerHour: {Standard: .nan}}\n", "ftops.catalog.yaml:6: catalog override: models.m.price"),
    "regions-not-list": ("models:\n  m: {encoding: o200k_base, methods: [dpo], maxExampleTokens: 1, training: {Standard: 3}}\n",
                         "ftops.catalog.yaml:2: catalog override: models.m.training.Standard"),
    "suffix-bad-regex": ("defaults:\n  suffix: {pattern: '(', maxLength: 3}\n",
                         "ftops.catalog.yaml:2: catalog override: defaults.suffix.pattern: not a regular expression"),
    # `^(a|a)*b$` took exponential time on a 33-character suffix: validate hung (issue 19's hostile pass).
    "suffix-exponential-regex": ("defaults:\n  suffix: {pattern: '^(a|a)*b$', maxLength: 40}\n",
                                 "ftops.catalog.yaml:2: catalog override: defaults.suffix.pattern: must "
                                 "be one character class with a count"),
    "suffix-max-length-huge": ("defaults:\n  suffix: {pattern: '^[a-z]+$', maxLength: 100000000}\n",
                               "ftops.catalog.yaml:2: catalog override: defaults.suffix.maxLength"),
    # A format a plan cannot hold: plan ended in "internal error: ValidationError ... RollOut model_format".
    "format-a-plan-refuses": ("models:\n  m: {encoding: o200k_base, methods: [dpo], format: 'Acme_AI/<b>'}\n",
                              "ftops.catalog.yaml:2: catalog override: models.m.format"),
    "source-javascript": ("models:\n  m: {encoding: o200k_base, methods: [dpo], source: {url: 'javascript:alert(1)'}}\n",
                          "ftops.catalog.yaml:2: catalog override: models.m.source"),
    "min-examples-str": ("defaults: {minExamples: ten}\n", "ftops.catalog.yaml:1: catalog override: defaults.minExamples"),
    "alias-bomb": ("a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
                   "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n",
                   "ftops.catalog.yaml:5: catalog override: the document expands to more than"),
    "two-documents": ("models: {}\n---\nmodels: {}\n", "ftops.catalog.yaml:3: catalog override: one YAML document expected"),
    "binary": (b"\xff\xfe\x00", "ftops.catalog.yaml:1: catalog override is not valid UTF-8"),
    "too-big": ("# " + "x" * (1 << 20), "ftops.catalog.yaml: catalog override is 1048578 bytes"),
}


@pytest.mark.parametrize("name", list(BAD_OVERRIDES))
def test_malformed_override_is_one_located_line(name: str, tmp_path: Path) -> None:
    content, expected = BAD_OVERRIDES[name]
    target = tmp_path / "ftops.catalog.yaml"
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        target.write_text(content)
    with pytest.raises(FtopsError) as e:
        load_catalog(tmp_path)
    assert str(e.value).startswith(expected), str(e.value)
    assert "\n" not in str(e.value)


def test_an_override_that_is_a_directory_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "ftops.catalog.yaml").mkdir()
    with pytest.raises(FtopsError, match="not a regular file"):
        load_catalog(tmp_path)


def test_an_empty_override_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "ftops.catalog.yaml").write_text("")
    assert load_catalog(tmp_path).models.keys() == load_catalog().models.keys()


def test_an_edited_override_is_read_again(tmp_path: Path) -> None:
    target = tmp_path / "ftops.catalog.yaml"
    target.write_text("defaults: {minExamples: 3}\n")
    assert load_catalog(tmp_path).min_examples == 3
    target.write_text("defaults: {minExamples: 12345}\n")
    assert load_catalog(tmp_path).min_examples == 12345


def test_every_shipped_model_names_the_page_it_was_read_from() -> None:
    for info in load_catalog().models.values():
        assert info.source.url.startswith("https://") and info.source.checked, info.name
        assert all(s.url.startswith("https://") and s.checked for s in info.sources.values()), info.name
        for topic in TOPICS:
            assert info.cite(topic).startswith("source: https://"), (info.name, topic)


def test_todays_models_and_their_rules() -> None:
    c = load_catalog()
    gpt5 = c.models["gpt-5-2025-08-07"]
    assert gpt5.methods == ("reinforcement",) and gpt5.access == "invitation" and "Developer" not in gpt5.training
    for name in ("Ministral-3B", "Qwen-32B", "Llama-3.3-70B-Instruct", "gpt-oss-20b"):
        oss = c.models[name]
        assert oss.methods == ("supervised",) and oss.foundry_resources_only
        assert set(oss.training) == {"GlobalStandard", "DataZoneStandard"}  # global (and US data zone) only
        assert not oss.pause_resume and not oss.continuous_fine_tuning
        assert "learn.microsoft.com" in oss.cite("pauseResume")
    assert all(c.models[m].pause_resume for m in ("gpt-4.1-2025-04-14", "o4-mini-2025-04-16", "gpt-5-2025-08-07"))
    assert ModelInfo.allows(c.models["gpt-4.1-2025-04-14"].deployment["DataZoneStandard"], "eastus2")
    assert not ModelInfo.allows(c.models["gpt-4.1-2025-04-14"].deployment["DataZoneStandard"], "swedencentral")
    assert c.models["gpt-4.1-nano-2025-04-14"].max_example_tokens == 32768
    assert c.models["Ministral-3B"].max_example_tokens is None  # not published


def test_an_override_model_cites_a_shipped_page_or_its_own(tmp_path: Path) -> None:
    (tmp_path / "ftops.catalog.yaml").write_text(
        "pages:\n  mine: {url: 'https://example.com/models', checked: '2026-12-01'}\n"
        "models:\n  a: {encoding: o200k_base, methods: [supervised], source: learn-models}\n"
        "  b: {encoding: o200k_base, methods: [supervised], source: mine}\n"
        "  c: {encoding: o200k_base, methods: [supervised]}\n")
    c = load_catalog(tmp_path)
    assert "foundry-models" in c.models["a"].source.url and c.models["b"].cite("methods") == \
        "source: https://example.com/models, read 2026-12-01"
    assert c.models["c"].cite("methods") == "source: ftops.catalog.yaml" and c.models["c"].pause_resume


@pytest.mark.parametrize(("content", "expected"), [
    ("models:\n  a: {encoding: o200k_base, methods: [dpo], source: nowhere}\n",
     "ftops.catalog.yaml: catalog override: models.a.source names page 'nowhere'"),
    ("models:\n  a: {encoding: o200k_base, methods: [dpo], training: {Globalstandard: ['*']}}\n",
     "ftops.catalog.yaml:2: catalog override: models.a.training.Globalstandard"),
    ("pages:\n  p: {url: 'http://insecure', checked: '2026-12-01'}\n", "ftops.catalog.yaml:2: catalog override: pages.p.url"),
    ("pages:\n  p: {url: 'https://x', checked: '2026-13-01'}\n", "ftops.catalog.yaml:2: catalog override: pages.p.checked"),
    ("models:\n  a: {encoding: o200k_base, methods: [dpo], sources: {price: mine}}\n",
     "ftops.catalog.yaml:2: catalog override: models.a.sources.price"),
])
def test_a_bad_source_is_one_located_line(tmp_path: Path, content: str, expected: str) -> None:
    (tmp_path / "ftops.catalog.yaml").write_text(content)
    with pytest.raises(FtopsError) as e:
        load_catalog(tmp_path)
    assert str(e.value).startswith(expected), str(e.value)
