"""Which model a deployment should serve: final, best (lowest validation loss) or a given epoch."""

from __future__ import annotations

from dataclasses import dataclass

from ..foundry import LiveCheckpoint, LiveJob
from ..spec import DeploymentSpec, Epoch
from ._actions import ModelSelector


@dataclass(frozen=True)
class Resolved:
    model: str | None  # a fine-tuned model id or an ftchkpt- id; None when blocked
    loss: float | None  # validation loss of that checkpoint, when known
    note: str  # how it was chosen
    blocked: str | None = None


def deployable(job: LiveJob, cp: LiveCheckpoint, cps: list[LiveCheckpoint]) -> str:
    """The model Azure deploys for checkpoint `cp` of succeeded `job` (`cps` sorted by step). The final
    epoch IS the fine-tuned model: its `fine_tuned_model_checkpoint` equals `fine_tuned_model`, with no
    `:ckpt-step-N` (Learn fine-tuning tutorial). Earlier checkpoints deploy by their `ftchkpt-` id."""
    assert job.fine_tuned_model is not None
    if cp.fine_tuned_model_checkpoint == job.fine_tuned_model or cp is cps[-1]:
        return job.fine_tuned_model
    return cp.id


def selector_of(spec: DeploymentSpec) -> ModelSelector:
    """The spec's checkpoint selector and gates, as a rollout carries them."""
    checkpoint = spec.job_ref.checkpoint if spec.job_ref is not None else "final"
    return ModelSelector(checkpoint=checkpoint.epoch if isinstance(checkpoint, Epoch) else checkpoint,
                         max_valid_loss=spec.gates.max_valid_loss, must_beat_current=spec.gates.must_beat_current)


def needs_checkpoints(pick: ModelSelector) -> bool:
    """Whether resolving `pick` reads the job's checkpoints (the final model without gates does not)."""
    return not (pick.checkpoint == "final" and pick.max_valid_loss is None and not pick.must_beat_current)


def resolve_model(job: LiveJob, checkpoints: list[LiveCheckpoint], pick: ModelSelector,
                  served_loss: float | None = None) -> Resolved:
    """Resolve the checkpoint selector against a succeeded job, then apply the promotion gates (pure)."""
    assert job.fine_tuned_model is not None
    selector = pick.checkpoint
    resolved: Resolved
    if not needs_checkpoints(pick):
        return Resolved(job.fine_tuned_model, None, "final model")
    cps = sorted(checkpoints, key=lambda c: c.step_number)
    final_loss = cps[-1].loss if cps else None
    if selector == "final":
        resolved = Resolved(job.fine_tuned_model, final_loss, "final model")
    elif selector == "best":
        scored = [c for c in cps if c.loss is not None]
        if not scored:
            resolved = Resolved(job.fine_tuned_model, None, "final model (no validation loss to pick the best)")
        else:
            best = min(scored, key=lambda c: (c.loss, -c.step_number))
            if deployable(job, best, cps) == job.fine_tuned_model:
                resolved = Resolved(job.fine_tuned_model, best.loss, f"best checkpoint is the final model "
                                                                     f"(loss {best.loss:.4f})")
            else:
                resolved = Resolved(best.id, best.loss, f"best checkpoint at step {best.step_number} "
                                                        f"(loss {best.loss:.4f})")
    else:
        n = job.n_epochs or len(cps)
        epochs = {n - (len(cps) - 1 - i): c for i, c in enumerate(cps)}
        if selector not in epochs:
            have = ", ".join(str(e) for e in sorted(epochs)) or "none"
            return Resolved(None, None, "", f"epoch {selector} is not deployable: Foundry keeps the last three "
                                            f"checkpoints (epochs {have})")
        c = epochs[selector]
        resolved = Resolved(deployable(job, c, cps), c.loss, f"epoch {selector}")
    if pick.max_valid_loss is not None and (resolved.loss is None or resolved.loss > pick.max_valid_loss):
        shown = "unknown" if resolved.loss is None else f"{resolved.loss:.4f}"
        return Resolved(None, resolved.loss, resolved.note,
                        f"gate maxValidLoss: validation loss {shown} is above {pick.max_valid_loss}")
    if pick.must_beat_current and served_loss is not None and (resolved.loss is None or resolved.loss >= served_loss):
        shown = "unknown" if resolved.loss is None else f"{resolved.loss:.4f}"
        return Resolved(None, resolved.loss, resolved.note,
                        f"gate mustBeatCurrent: validation loss {shown} does not beat the served {served_loss:.4f}")
    return resolved
