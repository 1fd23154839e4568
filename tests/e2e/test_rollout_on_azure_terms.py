"""Rollouts on Azure's terms: a deployment answers a while after `Succeeded`, and a model change and a
capacity change cannot go in one write."""

from __future__ import annotations

from tests.e2e.conftest import FAST, Project


def test_a_rollout_is_done_when_the_deployment_answers(project: Project) -> None:
    with project.live() as live:
        live.admin.fidelity(not_ready_seconds=2 * FAST)  # two real seconds of 404 after each write
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    assert "answered after" in r.err  # the rollout waited for the deployment to serve
    with project.live() as live:
        reply = live.oai.chat.completions.create(model="clippy-prod", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content


def test_a_model_and_a_capacity_change_go_in_two_writes(project: Project) -> None:
    assert project.ftops("apply", "--auto-approve", "--wait").code == 0
    project.edit("n_epochs: 3", "n_epochs: 2")
    project.edit("capacity: 50", "capacity: 40")
    r = project.ftops("apply", "--auto-approve", "--wait")
    assert r.code == 0, r.out + r.err
    with project.live() as live:
        dep = live.arm.deployments.get(live.conn.resource_group, live.conn.account, "clippy-prod")
        jobs = {j.id: j for j in live.oai.fine_tuning.jobs.list().data}
    assert dep.sku.capacity == 40 and jobs[dep.tags["ftops-job"]].hyperparameters.n_epochs == 2
    assert project.ftops("plan", "--detailed-exitcode").code == 0
