"""The spec file `ftops import` writes: one YAML document per spec, in dependency order, each under a
comment that says which live object it adopts and what that object is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import yaml
from pydantic import BaseModel

from ..plan import ImportDecision, ImportedDataset, ImportedDeployment, ImportedJob

HEADER = """\
# Written by `ftops import` on {when}{where}.
# Each spec adopts an object made outside ftops (`adopt:`), so `ftops plan` changes nothing while the
# objects are as written here. Edit a spec and the plan makes what the edit says: edited data is uploaded,
# a changed job field trains a new job (the adopted job is left as it is), a deployment is updated
# (and gets ftops' tags then). See docs/reference.md, "Adopting what exists (ftops import)".
"""


def comment_text(text: str) -> str:
    """`text` safe inside one YAML comment line: Foundry's names are input, and a line break in one would
    end the comment and inject YAML."""
    return "".join(c if c.isprintable() else "?" for c in text)


def _spec_data(spec: BaseModel, keep: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The spec as written by hand: camelCase, no field left at its default (except `keep`, for readability)."""
    data: dict[str, Any] = spec.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    for key, value in (keep or {}).items():
        data.setdefault(key, value)
    return data


def _document(kind: str, name: str, spec: dict[str, Any], comment: str, foundry: str | None) -> str:
    # With several Foundry documents the written specs must name theirs (metadata.foundry), as every spec does.
    metadata = {"name": name} | ({"foundry": foundry} if foundry is not None else {})
    body = yaml.safe_dump({"apiVersion": "ftops/v1", "kind": kind, "metadata": metadata, "spec": spec},
                          sort_keys=False, default_flow_style=False, allow_unicode=False, width=1000)
    return f"---\n# {comment_text(comment)}\n{body}"


def _dataset(d: ImportedDataset, sha256: str, foundry: str | None) -> str:
    f = d.file
    return _document("Dataset", d.name, _spec_data(d.spec(sha256)),
                     f"{f.id} ({f.filename}, {f.bytes:,} bytes), its content downloaded to {d.path}", foundry)


def _job(j: ImportedJob, foundry: str | None) -> str:
    job = j.job
    created = dt.datetime.fromtimestamp(job.created_at, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    model = f", model {job.fine_tuned_model}" if job.fine_tuned_model else ""
    spec = _spec_data(j.spec, {"method": j.spec.method, "trainingType": j.spec.training_type})
    order = ["baseModel", "method", "trainingType", "trainingData", "validationData", "hyperparameters", "suffix",
             "seed", "grader", "adopt"]
    ordered = {k: spec[k] for k in order if k in spec} | {k: v for k, v in spec.items() if k not in order}
    return _document("FineTuningJob", j.name, ordered, f"{job.id} ({job.status}, created {created}{model})", foundry)


def _deployment(d: ImportedDeployment, foundry: str | None) -> str:
    spec = _spec_data(d.spec)
    spec["model"].setdefault("checkpoint", "final")
    live = d.deployment
    return _document("Deployment", d.name, spec,
                     f"deployment {live.name} (serves {live.model} of {d.job_id}, {live.sku} x{live.capacity})",
                     foundry)


def import_yaml(decision: ImportDecision, sha256: Mapping[str, str], *, where: str = "",
                now: dt.datetime | None = None, foundry: str | None = None) -> str:
    """The file's text; `sha256` holds each imported dataset's digest of its downloaded content; `foundry`,
    when given, is written as every spec's metadata.foundry."""
    when = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    parts = [HEADER.format(when=when, where=f" from {comment_text(where)}" if where else "")]
    parts += [_dataset(d, sha256[d.name], foundry) for d in decision.datasets]
    parts += [_job(j, foundry) for j in decision.jobs]
    parts += [_deployment(d, foundry) for d in decision.deployments]
    return "".join(parts)
