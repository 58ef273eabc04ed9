"""PROSE data-generation benchmark: how fast ``sciml.prose.systems.generate`` draws trajectories.

    python benches/bench_prose_data.py            # 20,000 2-D trajectories + every system
    python benches/bench_prose_data.py --quick    # 2,000 2-D trajectories, 100 per system

Prints one JSON object on stdout (progress goes to stderr); the exit code is 0 whatever the
results. Two sections:

two_dimensional
    ``generate(NON_CHAOTIC, n)`` (damped oscillator, van der Pol, Lotka-Volterra: n split
    evenly, 192 points on [0, 6], 2% noise), best and median wall time of ``--repeats`` calls.
    Target (issue 12): 20,000 trajectories in <= 60 s on 2 CPU cores.
per_system
    ``generate(name, m)`` for every system, one call each: wall time and trajectories/s (the
    time includes redrawing the trajectories that blow up). No target.

The generator is numpy float64 RK4 on one thread (elementwise numpy does not use more).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

from sciml.prose import systems

TARGET_S = 60.0


def _timed(names: str | list[str], n: int, seed: int) -> float:
    start = time.perf_counter()
    systems.generate(names, n, seed=seed)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    parser.add_argument("--n", type=int, default=None, help="2-D trajectories (default 20000)")
    parser.add_argument("--per-system", type=int, default=None, help="default 1000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    n = args.n or (2_000 if args.quick else 20_000)
    m = args.per_system or (100 if args.quick else 1_000)

    names = list(systems.NON_CHAOTIC)
    _timed(names, 30, args.seed)  # compiles the vector fields
    times = []
    for r in range(args.repeats):
        times.append(_timed(names, n, args.seed + r))
        print(f"two_dimensional: {n} trajectories in {times[-1]:.2f} s", file=sys.stderr)
    best = min(times)
    target = TARGET_S * n / 20_000
    two_d = {
        "names": names,
        "n": n,
        "points": 192,
        "best_s": round(best, 3),
        "median_s": round(statistics.median(times), 3),
        "trajectories_per_s": round(n / best),
        "target_s": target,
        "pass": best <= target,
    }

    per_system = {}
    for name in systems.names():
        systems.generate(name, 4, seed=args.seed)
        t = _timed(name, m, args.seed)
        per_system[name] = {"n": m, "seconds": round(t, 3), "trajectories_per_s": round(m / t)}
        print(f"{name}: {m} trajectories in {t:.2f} s", file=sys.stderr)

    print(
        json.dumps(
            {
                "benchmark": "prose_data",
                "machine": {
                    "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                },
                "two_dimensional": two_d,
                "per_system": per_system,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
