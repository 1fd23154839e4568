"""The quality simulation behind the local Foundry's deployments and judges."""

from __future__ import annotations

from rapidfuzz import fuzz

from ftops.emulator import _inference
from ftops.emulator._inference import BASE_QUALITY, Profile, answer, judge, quality_of_loss

REFERENCE = "Fact 12 says the purple otter eats honey every evening near the river."
PROMPTS = [f"What does fact {i} say?" for i in range(300)]


def mean_similarity(p: Profile) -> float:
    return sum(fuzz.ratio(answer(p, q, REFERENCE), REFERENCE) for q in PROMPTS) / len(PROMPTS) / 100


def test_quality_falls_as_validation_loss_rises() -> None:
    assert quality_of_loss(0.35) > quality_of_loss(0.45) > quality_of_loss(0.6) > BASE_QUALITY
    assert quality_of_loss(None) == 0.5


def test_better_checkpoints_answer_closer_and_a_base_model_answers_worst() -> None:
    best = Profile("ft:ckpt-3", quality_of_loss(0.39))
    worse = Profile("ft:ckpt-4", quality_of_loss(0.51))
    base = Profile("gpt-4.1-mini-2025-04-14", BASE_QUALITY)
    assert mean_similarity(best) > mean_similarity(worse) > mean_similarity(base)
    exact = [sum(answer(p, q, REFERENCE) == REFERENCE for q in PROMPTS) for p in (best, worse, base)]
    assert exact[0] > exact[1] > exact[2]


def test_answers_are_deterministic_per_model_and_prompt() -> None:
    a, b = Profile("m1", 0.6), Profile("m2", 0.6)
    assert answer(a, "q", REFERENCE) == answer(Profile("m1", 0.6), "q", REFERENCE)
    assert [answer(a, q, REFERENCE) for q in PROMPTS] != [answer(b, q, REFERENCE) for q in PROMPTS]


def test_without_a_reference_the_model_answers_from_its_training_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "train.jsonl"
    data.write_text('{"messages": [{"role": "user", "content": "Capital of France?"}, '
                    '{"role": "assistant", "content": "Paris, obviously."}]}\n'
                    '{"messages": [{"role": "user", "content": "Largest planet?"}, '
                    '{"role": "assistant", "content": "Jupiter, of course."}]}\n')
    p = Profile("ft", 0.95, training_file=data)
    assert _inference.reference_for(p, "Capital of France?") == "Paris, obviously."
    assert _inference.reference_for(p, "what is the largest planet") == "Jupiter, of course."
    assert answer(Profile("base", BASE_QUALITY), "anything", None) == _inference.NO_REFERENCE


def test_the_judge_prefers_answers_close_to_the_reference() -> None:
    prompts = [f"p{i}" for i in range(50)]
    right = sum(judge("gpt-4o", p, REFERENCE, REFERENCE) for p in prompts)
    wrong = sum(judge("gpt-4o", p, "No idea, sorry.", REFERENCE) for p in prompts)
    assert right > wrong and all(0 <= judge("gpt-4o", p, "x", None) <= 1 for p in prompts)
