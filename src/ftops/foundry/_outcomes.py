"""How a fine-tuning job ended when it did not succeed: its error's structured fields as a typed outcome.

Azure checks a job's training data before training ("data checks") and the trained model after it ("safety
evaluation"); either refusal fails the job (Learn, *Safety evaluation for fine-tuning*). The job's `error` is
`{code, message, param}` (authoring spec 2024-10-21 `FineTuningJobError`: `param` is "usually training_file or
validation_file", null "if the failure was not parameter-specific"). The outcome is read from `code` and
`param`, never from the message, with one exception: a code ftops does not know (Azure publishes none for its
two refusals) leaves Learn's two documented messages as the only clue, and they are matched by their opening
words, so a refusal is never paid for again under `retries:` (docs/reference.md, "How a job ends").
"""

from __future__ import annotations

from .._vocabulary import JobOutcome

# Azure's `ErrorCode` "contentFilter" ("... as a result of our safety system", authoring spec 2024-10-21), and
# the OpenAI-style spelling the v1 surface uses for content-filter errors.
_SAFETY_SYSTEM = frozenset({"contentfilter", "content_filter"})
# The training file did not pass validation: the same bytes fail it again. Azure's `jsonlValidationFailed`;
# the OpenAI-style `invalid_training_file` and `invalid_n_examples` (fewer than 10 examples).
_INVALID_DATA = frozenset({"jsonlvalidationfailed", "invalid_training_file", "invalid_n_examples"})
# A failure of the service itself: Azure's `internalFailure` ("Internal error. Please retry."),
# `serviceUnavailable`, `tooManyRequests`; the OpenAI-style `internal_error`.
_TRANSIENT = frozenset({"internalfailure", "serviceunavailable", "toomanyrequests", "internal_error"})
# The parameters Azure names when the data checks refuse a file (a model's evaluation names none).
_DATA_PARAMS = frozenset({"training_file", "validation_file"})
# Learn's sample messages of the two refusals (used only when the code says nothing ftops knows).
_DATA_REFUSED_OPENING = "the provided training data failed rai checks"
_SAFETY_FAILED_OPENING = "this model is unable to be deployed"


def job_outcome(status: str, code: str | None, param: str | None, message: str | None) -> JobOutcome | None:
    """The outcome of a job in `status` (None while it runs or once it succeeded)."""
    if status == "cancelled":
        return "cancelled"
    if status != "failed":
        return None
    key = (code or "").strip().lower()
    if key in _SAFETY_SYSTEM:
        return "data_refused" if param in _DATA_PARAMS else "safety_failed"
    if key in _INVALID_DATA:
        return "data_invalid"
    if key in _TRANSIENT:
        return "transient"
    return _from_documented_message(message)


def _from_documented_message(message: str | None) -> JobOutcome:
    text = (message or "").strip().lower()
    if text.startswith(_DATA_REFUSED_OPENING):
        return "data_refused"
    if text.startswith(_SAFETY_FAILED_OPENING):
        return "safety_failed"
    return "unknown"
