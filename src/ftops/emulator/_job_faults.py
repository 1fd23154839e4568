"""How a job of the local Foundry goes wrong (`ftops emulator fail-job --kind`): one list for every kind.

Light on purpose (no server stack): the CLI checks `--kind` against it before it starts anything.
- fail: the job fails at fraction `at` of its training (an internal error);
- diverge: the job trains to the end, its validation loss rising from its first evaluation (`_sim.step_metrics`).
"""

JOB_FAULT_KINDS = ("fail", "diverge")
