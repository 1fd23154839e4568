"""The base of every spec model, in one place so that every spec module imports it without a cycle.

Unknown fields are errors (a typo must not do nothing), fields are spelled in camelCase as the YAML spells
them (`baseModel`), and a loaded spec is frozen. Validators are built on first use (`defer_build`): a
command pays for the kinds its specs hold, not for every kind ftops knows.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic.alias_generators import to_camel


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True,
                              defer_build=True)


# A resource's name (metadata.name, and every reference to one): DNS-label shaped, as Foundry names allow.
Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
