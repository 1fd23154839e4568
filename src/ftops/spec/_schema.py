"""JSON Schema of a spec document, generated from the same pydantic models (`ftops schema`)."""

from __future__ import annotations

from typing import Any

from .._vocabulary import POLICY_RULES
from ._documents import SPEC_MODELS, Metadata
from ._hyperparameters import HYPERPARAMETER_MODELS

SCHEMA_ID = "https://ftops.dev/schema/v1/spec.json"


def _hyperparameters_by_method(defs: dict[str, Any]) -> list[dict[str, Any]]:
    """`hyperparameters` follows `method` (supervised when absent): one if/then per method."""
    rules = []
    for method, model in HYPERPARAMETER_MODELS.items():
        schema = model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[model.__name__] = schema
        condition: dict[str, Any] = {"properties": {"method": {"const": method}}}
        if method != "supervised":
            condition["required"] = ["method"]
        rules.append({"if": condition,
                      "then": {"properties": {"hyperparameters": {"$ref": f"#/$defs/{model.__name__}"}}}})
    return rules


def _old_namespace_spelling(schema: dict[str, Any]) -> None:
    """`project` is still read (the loader renames it, with a warning): editors mark it deprecated, and
    refuse it beside `namespace` as the loader does."""
    schema["properties"]["project"] = {**schema["properties"]["namespace"], "deprecated": True,
                                       "title": "Project", "description": "Old spelling of namespace."}
    schema["not"] = {"required": ["namespace", "project"]}


def json_schema() -> dict[str, Any]:
    defs: dict[str, Any] = {}
    variants = []
    meta = Metadata.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    defs.update(meta.pop("$defs", {}))
    defs["Metadata"] = meta
    for kind, model in SPEC_MODELS.items():
        schema = model.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
        defs.update(schema.pop("$defs", {}))
        defs[f"{kind}Spec"] = schema
        if kind == "FineTuningJob":
            schema["allOf"] = _hyperparameters_by_method(defs)
        elif kind == "Dataset":  # exactly one of path and url (the model's validator, for editors)
            schema["oneOf"] = [{"required": ["path"]}, {"required": ["url"]}]
        elif kind == "Foundry":
            _old_namespace_spelling(schema)
        elif kind == "Policy":  # exactly one rule; an expression with its message (the model's validator)
            schema["oneOf"] = [{"required": ["expression", "message"]} if rule == "expression" else
                               {"required": [rule], "not": {"required": ["message"]}} for rule in POLICY_RULES]
        variants.append({
            "type": "object",
            "additionalProperties": False,
            "required": ["apiVersion", "kind", "metadata", "spec"],
            "properties": {
                "apiVersion": {"const": "ftops/v1"},
                "kind": {"const": kind},
                "metadata": {"$ref": "#/$defs/Metadata"},
                "spec": {"$ref": f"#/$defs/{kind}Spec"},
            },
        })
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "ftops spec document",
        "oneOf": variants,
        "$defs": defs,
    }
