"""Apply's STEPS table: every action type that does something has its step and its RBAC column."""

from __future__ import annotations

import typing

from ftops.apply._steps import STEPS, needs
from ftops.foundry import DEPLOYMENTS_DELETE, DEPLOYMENTS_WRITE, FILES_WRITE
from ftops.plan import Action, NoOp, RollOut, UploadDataset


def test_every_action_type_but_the_no_op_has_a_step() -> None:
    types = set(typing.get_args(typing.get_args(Action)[0]))
    assert types - set(STEPS) == {NoOp} and set(STEPS) <= types


def test_the_permissions_column_is_what_access_checks() -> None:
    fields = {"name": "d", "reason": "r", "job": "j", "job_hash": "0" * 16, "sku": "Standard", "capacity": 1,
              "spec_hash": "1" * 16}
    update = RollOut(id="deployment.d:update", action="update", **fields)
    replace = RollOut(id="deployment.d:replace", action="replace", interrupts=True, **fields)
    assert DEPLOYMENTS_WRITE in needs(update) and DEPLOYMENTS_DELETE not in needs(update)
    assert DEPLOYMENTS_DELETE in needs(replace)
    upload = UploadDataset(id="dataset.x:create", name="x", reason="r", path="d.jsonl", filename="f", sha256="0" * 64,
                           bytes=1)
    assert needs(upload) == (FILES_WRITE,)
    assert needs(NoOp(id="n", kind="Dataset", name="x", reason="r")) == ()
