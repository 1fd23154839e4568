"""Spec layer: load YAML spec documents into a checked Project. Imports nothing above it."""

from ._models import (
    DatasetSpec,
    DeploymentSpec,
    Epoch,
    FineTuningJobSpec,
    FoundrySpec,
    Gates,
    JobRef,
    ModelRef,
    Sku,
)
from ._project import Project, Resource, load_project, spec_files
from ._schema import json_schema

__all__ = [
    "DatasetSpec", "DeploymentSpec", "Epoch", "FineTuningJobSpec", "FoundrySpec", "Gates", "JobRef",
    "ModelRef", "Project", "Resource", "Sku", "json_schema", "load_project", "spec_files",
]
