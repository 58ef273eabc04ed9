"""The CI fuzz profile: each kernel entry point survives a few hundred hostile calls.

Every entry point runs in its own subprocesses under an address-space limit (see
``tests/fuzz_kernels.py``); a failure message holds the inputs that caused each finding,
and ``python tests/fuzz_kernels.py --entry NAME --seed S --start INDEX --examples 1
--verbose`` replays one.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location(
    "fuzz_kernels", Path(__file__).with_name("fuzz_kernels.py")
)
assert _spec is not None and _spec.loader is not None
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["fuzz_kernels"] = fuzz  # dataclasses look their module up by name
_spec.loader.exec_module(fuzz)

CI = fuzz.PROFILES["ci"]


def _findings(counts: dict[str, Any]) -> str:
    """The crashes, hangs, unexpected errors and non-finite outputs, for a failure message."""
    keys = ("failures", "fuzzer_errors", "unexpected", "non_finite")
    found = {k: counts[k] for k in keys if counts[k]}
    for failure in found.get("failures", []):
        failure.pop("counts", None)
    return f"seed {counts['seed']}: " + json.dumps(found, indent=1, default=str)[:8000]


@pytest.mark.parametrize("name", list(fuzz.ENTRIES))
def test_entry_point_survives_fuzzing(name: str, tmp_path: Path) -> None:
    counts = fuzz.run_entry(name, CI, tmp_path)
    report = _findings(counts)
    assert counts["crashes"] == 0, report
    assert counts["hangs"] == 0, report
    assert not counts["failures"], report
    assert not counts["fuzzer_errors"], report
    assert counts["unexpected_count"] == 0, report
    assert counts["non_finite_count"] == 0, report
    assert counts["calls"] == CI.examples
    assert counts["returned"] > 0, "no call got past the input checks: the fuzzer is too hostile"


def test_every_public_kernel_is_fuzzed() -> None:
    from sciml import _core

    kernels = set(_core.__all__) - {"__version__", "get_num_threads", "set_num_threads"}
    assert {f"core.{k}" for k in kernels} <= set(fuzz.ENTRIES)


def test_a_case_depends_only_on_seed_and_index() -> None:
    def text(index: int) -> str:
        draw = fuzz.Draw(np.random.default_rng([CI.seed, index]), headroom=None, index=index)
        return fuzz.describe_case(fuzz.ENTRIES["core.rbf_morph"].make(draw))

    assert text(7) == text(7)
    assert text(7) != text(8)


def test_crashes_hangs_and_surprises_are_counted_with_their_inputs(tmp_path: Path) -> None:
    """Case 1 raises RuntimeError, 2 aborts, 3 returns NaN, 4 sleeps: the run goes on."""
    profile = fuzz.Profile(examples=6, seed=0, call_timeout_s=2.0, max_failures=5)
    counts = fuzz.run_entry("selftest.misbehave", profile, tmp_path)
    assert counts["calls"] == 6
    assert counts["returned"] == 3  # cases 0, 3 and 5
    assert counts["unexpected_by_kind"] == {"RuntimeError": 1}
    assert counts["non_finite_count"] == 1
    assert counts["non_finite"][0]["input"] == "_misbehave(3)"
    crash, hang = counts["failures"]
    assert (crash["kind"], crash["index"], crash["input"]) == ("crash", 2, "_misbehave(2)")
    assert "SIGABRT" in crash["why"]
    assert (hang["kind"], hang["index"]) == ("hang", 4)
    assert (counts["crashes"], counts["hangs"]) == (1, 1)
    assert not fuzz.is_clean(counts, 6)
