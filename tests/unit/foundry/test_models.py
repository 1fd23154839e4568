"""Live models parse Azure's answers leniently: -1 hyperparameters are "not resolved yet"."""

from __future__ import annotations

import json
from pathlib import Path

from ftops.foundry import LiveCheckpoint, LiveJob

LEARN = json.loads((Path(__file__).resolve().parents[2] / "fixtures" / "azure" / "learn-fine-tune-tutorial.json")
                   .read_text())


def test_minus_one_epochs_at_creation_are_not_a_number() -> None:
    job = LiveJob.parse(LEARN["job_at_creation"])  # Azure's answer at creation: n_epochs -1
    assert job.n_epochs is None and job.status == "pending" and job.active


def test_minus_one_under_method_is_not_a_number_either() -> None:
    body = {**LEARN["job_at_creation"], "hyperparameters": {"n_epochs": "auto"},
            "method": {"type": "supervised", "supervised": {"hyperparameters": {"n_epochs": -1}}}}
    assert LiveJob.parse(body).n_epochs is None


def test_resolved_epochs_are_read() -> None:
    body = {**LEARN["job_at_creation"], "status": "running", "hyperparameters": {"n_epochs": 3, "batch_size": 1}}
    assert LiveJob.parse(body).n_epochs == 3
    assert LiveJob.parse({**body, "hyperparameters": {"n_epochs": True}}).n_epochs is None


def test_the_final_checkpoint_carries_the_fine_tuned_model_name() -> None:
    final, earlier = (LiveCheckpoint.parse(c) for c in LEARN["checkpoints"]["data"][:2])
    assert final.fine_tuned_model_checkpoint == "gpt-4o-mini-2024-07-18.ft-0e208cf33a6a466994aff31a08aba678"
    assert earlier.fine_tuned_model_checkpoint is not None and earlier.fine_tuned_model_checkpoint.endswith(
        ":ckpt-step-90")


def test_ftops_tags_read_under_their_lower_case_names() -> None:
    """Azure compares tag names without case: `FTOPS-Project` set by hand is ftops' `ftops-project` to every
    reader (the planner's owner check, destroy, import), and a person's own tags keep their spelling."""
    from ftops.foundry import LiveDeployment

    d = LiveDeployment.parse({"name": "prod", "tags": {"FTOPS-Project": "clippy", "Cost-Center": "cc-1", 7: "x"},
                              "properties": {}, "sku": {"name": "Standard", "capacity": 1}})
    assert d.tags == {"ftops-project": "clippy", "Cost-Center": "cc-1"}
