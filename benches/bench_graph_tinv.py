"""TinvNN benchmark (sciml.graph.tinv): invariance, distance preservation, speed, and the
point-cloud classifier of examples/tinv_pointclouds.py over 3 seeds (JSON output).

    python benches/bench_graph_tinv.py --json          # everything (well under a minute, 2 cores)
    python benches/bench_graph_tinv.py --seeds 0 1 2 --train 120 --test 60 --points 128

Sections:

- ``invariance``: the largest |tinv_mds(X) - tinv_mds(c X Q + t)| over random clouds (n in
  [8, 256], D in {2, 3}, anisotropic exponential coordinates) and random orthogonal Q (half
  of them reflections), c in [1e-2, 1e2] and |t| <= 100, for generic clouds and for clouds
  whose coordinates are not fixed by the third-moment rule (mirror-symmetric clouds, regular
  polygons: the index rule), each against the acceptance bound 1e-6.
- ``distances``: the largest relative error of |y_i - y_j| * s against |x_i - x_j| (s the
  RMS distance to the centroid) for dim = D.
- ``speed``: milliseconds a call of tinv_mds for n points in 3-D, and of
  tinv_mds_from_distances for an n x n distance matrix.
- ``classifier``: per seed and averaged, the accuracies of the raw-coordinate and the
  TinvNN classifiers on the test clouds and on the same clouds randomly moved (rotated or
  reflected, rescaled, translated); the acceptance line: TinvNN keeps its accuracy on the
  moved clouds (identical predictions) while the raw one drops.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.spatial.distance import pdist, squareform
from scipy.stats import ortho_group

from sciml.graph.tinv import tinv_mds, tinv_mds_from_distances

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tinv_pointclouds.py"
BOUND = 1e-6


def load_example():
    spec = importlib.util.spec_from_file_location("tinv_pointclouds", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def similarity(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    d = x.shape[1]
    q = ortho_group.rvs(d, random_state=rng)
    if rng.random() < 0.5:
        q[:, 0] = -q[:, 0]
    return 10.0 ** rng.uniform(-2, 2) * x @ q + rng.uniform(-100, 100, d)


def generic(rng: np.random.Generator) -> np.ndarray:
    n, d = int(rng.integers(8, 257)), int(rng.integers(2, 4))
    return rng.standard_exponential((n, d)) * rng.uniform(0.2, 3.0, d)


def symmetric(rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.5:
        k = int(rng.integers(3, 33))
        angles = 2 * np.pi * np.arange(k) / k
        return np.c_[np.cos(angles), np.sin(angles)]
    half, d = int(rng.integers(4, 128)), int(rng.integers(2, 4))
    a = rng.normal(size=(half, d)) * np.arange(1, d + 1)
    return np.vstack([a, a * np.r_[-1.0, np.ones(d - 1)]])


def invariance(clouds: int, transforms: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for name, make in (("generic", generic), ("symmetric_index_rule", symmetric)):
        worst = 0.0
        for _ in range(clouds):
            x = make(rng)
            y = tinv_mds(x, x.shape[1])
            for _ in range(transforms):
                z = tinv_mds(similarity(x, rng), x.shape[1])
                worst = max(worst, float(np.max(np.abs(z - y))))
        out[name] = {"clouds": clouds, "transforms_each": transforms, "max_abs_diff": worst}
        out[name]["within_1e-6"] = worst <= BOUND
    return out


def distances(clouds: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    worst = 0.0
    for _ in range(clouds):
        x = generic(rng)
        y = tinv_mds(x, x.shape[1])
        s = np.sqrt(np.mean(np.sum((x - x.mean(axis=0)) ** 2, axis=1)))
        dx = pdist(x)
        worst = max(worst, float(np.max(np.abs(pdist(y) * s - dx) / dx)))
    return {"clouds": clouds, "max_rel_err": worst}


def timed(fn, *args, repeat: int = 5) -> float:
    fn(*args)
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn(*args)
    return 1e3 * (time.perf_counter() - t0) / repeat


def speed(seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for n in (128, 1024, 8192):
        x = rng.standard_exponential((n, 3))
        out[f"tinv_mds_ms_n{n}_D3"] = timed(tinv_mds, x, 3)
    for n in (128, 512):
        d = squareform(pdist(rng.standard_exponential((n, 3))))
        out[f"tinv_mds_from_distances_ms_n{n}"] = timed(tinv_mds_from_distances, d, 3)
    return out


def classifier(seeds: list[int], train: int, test: int, points: int) -> dict[str, Any]:
    example = load_example()
    runs = [example.run(seed, train, test, points) for seed in seeds]
    keys = ("raw_test_acc", "raw_moved_acc", "tinv_test_acc", "tinv_moved_acc")
    mean = {k: float(np.mean([r[k] for r in runs])) for k in keys}
    std = {k: float(np.std([r[k] for r in runs])) for k in keys}
    return {
        "classes": list(example.CLASSES),
        "train_per_class": train,
        "test_per_class": test,
        "points": points,
        "per_seed": runs,
        "mean": mean,
        "std": std,
        "tinv_keeps_accuracy": all(r["tinv_moved_acc"] == r["tinv_test_acc"] for r in runs),
        "raw_drops": all(r["raw_moved_acc"] < r["raw_test_acc"] - 0.2 for r in runs),
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--train", type=int, default=120, help="training clouds per class")
    parser.add_argument("--test", type=int, default=60, help="test clouds per class")
    parser.add_argument("--points", type=int, default=128, help="points per cloud")
    parser.add_argument("--clouds", type=int, default=200, help="clouds per invariance check")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    result: dict[str, Any] = {
        "machine": {"python": platform.python_version(), "numpy": np.__version__},
        "invariance": invariance(args.clouds, 5, seed=0),
        "distances": distances(args.clouds, seed=1),
        "speed": speed(seed=2),
        "classifier": classifier(args.seeds, args.train, args.test, args.points),
    }
    result["seconds"] = time.perf_counter() - t0
    print(json.dumps(result, indent=2) if args.json else result)
    return result


if __name__ == "__main__":
    main()
