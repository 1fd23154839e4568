"""Hypothesis profiles for the fuzzer.

`ci` (the default, used by `make test`): a small fixed set of examples (derandomized, so a run is
repeatable, not shrunk), well under a minute for the whole suite. `long` (`make fuzz`): many random examples.
Choose with FTOPS_FUZZ_PROFILE. The deadline is a hang detector, not a performance assertion: it is
far above any sane example's time, even on a loaded machine.
"""

from __future__ import annotations

import os
from datetime import timedelta

from hypothesis import HealthCheck, Phase, settings

_COMMON = {
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                              HealthCheck.data_too_large, HealthCheck.filter_too_much],
    "database": None,
    "print_blob": True,
}
# No shrinking in `ci`: a failure is reported as found (with its reproduction blob) without the minutes
# shrinking can take; `make fuzz` shrinks to the smallest failing input.
settings.register_profile("ci", max_examples=20, derandomize=True, deadline=timedelta(seconds=30),
                          phases=[Phase.explicit, Phase.reuse, Phase.generate], **_COMMON)
settings.register_profile("long", max_examples=600, deadline=timedelta(seconds=60), **_COMMON)
settings.load_profile(os.environ.get("FTOPS_FUZZ_PROFILE", "ci"))
