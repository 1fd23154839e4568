"""The word lists every layer shares, each defined once: what Azure and the spec call SKUs and training
types, what a plan's actions do, and how drift is classified. Tuples are derived from the Literals, so
the types and the lists cannot disagree.

The local Foundry keeps its own lists (it imports nothing of ftops): it speaks Azure's side of the wire.
"""

from __future__ import annotations

from typing import Literal, get_args

# A deployment's SKU in the spec's words (ARM spells Developer `DeveloperTier`: `foundry/_wire.py` maps them).
SkuName = Literal["Standard", "GlobalStandard", "Developer", "ProvisionedManaged"]
SKU_NAMES: tuple[SkuName, ...] = get_args(SkuName)
# The SKUs an evaluation canary may use: throwaway deployments, never provisioned throughput.
CanarySku = Literal["Developer", "Standard", "GlobalStandard"]
TrainingType = Literal["Standard", "GlobalStandard", "Developer"]
TRAINING_TYPES: tuple[TrainingType, ...] = get_args(TrainingType)

# What a plan action does to its resource.
Verb = Literal["create", "update", "replace", "delete", "cancel", "pause", "resume", "wait", "no-op"]
VERBS: tuple[Verb, ...] = get_args(Verb)
CHANGING: frozenset[Verb] = frozenset({"create", "update", "replace", "delete", "cancel", "pause", "resume"})

# Why live differs from git (`ftops drift`).
DriftClass = Literal["unapplied", "modified", "deleted", "failed", "foreign", "retiring"]
DRIFT_CLASSES: tuple[DriftClass, ...] = get_args(DriftClass)
