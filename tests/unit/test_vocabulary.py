"""Each word list is defined once (ftops/_vocabulary.py); everything that spells one derives from it."""

from __future__ import annotations

from typing import get_args

from ftops._vocabulary import CHANGING, DRIFT_CLASSES, SKU_NAMES, TRAINING_TYPES, VERBS, CanarySku
from ftops.foundry._wire import ARM_SKU, spec_sku
from ftops.plan import ACTIONS, DRIFT_KINDS, RollOut
from ftops.spec import DeploymentSpec, FineTuningJobSpec


def test_every_spec_sku_has_an_arm_name_and_back() -> None:
    assert tuple(ARM_SKU) == SKU_NAMES
    assert all(spec_sku(arm) == name for name, arm in ARM_SKU.items())
    assert all(spec_sku(arm.upper()) == name for name, arm in ARM_SKU.items())  # ARM compares case-insensitively


def test_the_spec_and_the_plan_take_the_same_skus() -> None:
    sku = DeploymentSpec.model_fields["sku"].annotation.model_fields["name"].annotation  # type: ignore[union-attr]
    assert get_args(sku) == SKU_NAMES
    assert get_args(RollOut.model_fields["sku"].annotation) == SKU_NAMES
    assert set(get_args(CanarySku)) < set(SKU_NAMES)


def test_training_types_verbs_and_drift_classes() -> None:
    assert get_args(FineTuningJobSpec.model_fields["training_type"].annotation) == TRAINING_TYPES
    assert ACTIONS == VERBS and set(VERBS) > CHANGING and DRIFT_KINDS == DRIFT_CLASSES
