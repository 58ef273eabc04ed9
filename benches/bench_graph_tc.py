"""Topological concentration benchmark: exactness against the set-based reference, ATC's
rank correlation with TC, and ATC's speed against the exact sparse TC (JSON output).

    python benches/bench_graph_tc.py --json      # everything (about a minute on 2 cores)
    python benches/bench_graph_tc.py --quick     # fewer seeds, no 20,000-node section

Threads are pinned to one (BLAS and sciml's pool) so that the times compare one core each.
Graphs are stochastic block models (``sciml.data.graphs.stochastic_block_model``) whose
edges are split at random 80/20 into training and test edges; K = 2 and beta = 1 / mean
training degree throughout. Spearman correlations are over the nodes where TC is defined
(at least one training and one test neighbour); the other nodes are 0 in both.

Sections:

- ``exactness``: ``topological_concentration`` against ``topological_concentration_reference``
  (Python sets) on a 2,000-node graph of 4 communities of 500 with within-community edge
  probabilities 0.01, 0.02, 0.04, 0.08 (mean degrees about 6 to 41) and 0.001 across:
  max abs difference and both times.
- ``atc_spearman``: Spearman(ATC, TC) at dim 64 over graph and projection seeds, for ATC as
  shipped (``exact_first_hop=True``) and for the plain projection estimator (``False``,
  the paper's inner product of propagated random vectors), on two families whose
  communities differ in density: ``four_blocks_2k`` (the graph above) and
  ``hundred_blocks_20k`` (100 communities of 200, within probabilities log-uniform in
  [0.02, 0.2], 0.0005 across); plus a dimension sweep on ``four_blocks_2k``.
- ``timing_20k``: exact sparse TC (scipy) against ATC at 20,000 nodes, 5 runs
  each (interleaved, in the same process; medians and minima, since the
  machine may be shared): ``four_blocks_20k`` (4 communities of 5,000, mean degrees
  about 5, 10, 20, 40) and ``hundred_blocks_20k``; with the Spearman there.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from scipy.stats import spearmanr  # noqa: E402

import sciml  # noqa: E402
from sciml.data.graphs import stochastic_block_model  # noqa: E402
from sciml.graph.concentration import (  # noqa: E402
    approx_topological_concentration,
    topological_concentration,
)
from sciml.graph.reference import topological_concentration_reference  # noqa: E402


def split(edges: np.ndarray, seed: int, train: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
    """A random train/test split of the columns of ``edges``."""
    perm = np.random.default_rng(seed).permutation(edges.shape[1])
    cut = int(train * edges.shape[1])
    return edges[:, perm[:cut]], edges[:, perm[cut:]]


def sbm(sizes: list[int], p_in: Any, p_out: float, seed: int) -> np.ndarray:
    nb = len(sizes)
    p = np.full((nb, nb), p_out)
    np.fill_diagonal(p, p_in)
    return stochastic_block_model(sizes, p, seed=seed)[0]


def four_blocks_2k(seed: int) -> tuple[np.ndarray, int]:
    return sbm([500] * 4, [0.01, 0.02, 0.04, 0.08], 0.001, seed), 2000


def four_blocks_20k(seed: int) -> tuple[np.ndarray, int]:
    return sbm([5000] * 4, [0.001, 0.002, 0.004, 0.008], 0.0001, seed), 20_000


def hundred_blocks_20k(seed: int) -> tuple[np.ndarray, int]:
    rng = np.random.default_rng(10_000 + seed)
    p_in = np.exp(rng.uniform(np.log(0.02), np.log(0.2), 100))
    return sbm([200] * 100, p_in, 0.0005, seed), 20_000


GRAPHS: dict[str, Callable[[int], tuple[np.ndarray, int]]] = {
    "four_blocks_2k": four_blocks_2k,
    "four_blocks_20k": four_blocks_20k,
    "hundred_blocks_20k": hundred_blocks_20k,
}


def defined(train: np.ndarray, test: np.ndarray, n: int) -> np.ndarray:
    """Nodes with at least one training and one test neighbour."""
    return (np.bincount(train.ravel(), minlength=n) > 0) & (
        np.bincount(test.ravel(), minlength=n) > 0
    )


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def exactness_section() -> dict[str, Any]:
    edges, n = four_blocks_2k(0)
    train, test = split(edges, 0)
    tc, t_tc = timed(lambda: topological_concentration(train, test, K=2, num_nodes=n))
    ref, t_ref = timed(lambda: topological_concentration_reference(train, test, K=2, num_nodes=n))
    return {
        "graph": "four_blocks_2k (seed 0)",
        "nodes": n,
        "train_edges": int(train.shape[1]),
        "test_edges": int(test.shape[1]),
        "max_abs_diff": float(np.abs(tc - ref).max()),
        "target_max_abs_diff": 1e-9,
        "sparse_tc_s": round(t_tc, 4),
        "set_reference_s": round(t_ref, 3),
    }


def spearman_runs(
    graph: str, graph_seeds: list[int], proj_seeds: list[int], dims: list[int]
) -> dict[str, Any]:
    out: dict[str, Any] = {"graph": graph, "graph_seeds": graph_seeds, "proj_seeds": proj_seeds}
    rows: dict[str, list[float]] = {}
    for gs in graph_seeds:
        edges, n = GRAPHS[graph](gs)
        train, test = split(edges, gs)
        ok = defined(train, test, n)
        tc = topological_concentration(train, test, num_nodes=n)
        for dim in dims:
            for exact in (True, False):
                key = f"dim{dim}_" + ("atc" if exact else "plain_projection")
                for ps in proj_seeds:
                    atc = approx_topological_concentration(
                        train, test, dim=dim, num_nodes=n, seed=ps, exact_first_hop=exact
                    )
                    rows.setdefault(key, []).append(float(spearmanr(tc[ok], atc[ok]).statistic))
        out.setdefault("nodes_defined", []).append(int(ok.sum()))
    for key, values in rows.items():
        out[key] = {
            "mean": round(statistics.fmean(values), 4),
            "min": round(min(values), 4),
            "max": round(max(values), 4),
        }
    return out


def timing_section(graph: str, repeats: int = 5) -> dict[str, Any]:
    edges, n = GRAPHS[graph](0)
    train, test = split(edges, 0)
    ok = defined(train, test, n)
    t_exact, t_atc = [], []
    tc = atc = None
    for _ in range(repeats):
        tc, t = timed(lambda: topological_concentration(train, test, num_nodes=n))
        t_exact.append(t)
        atc, t = timed(lambda: approx_topological_concentration(train, test, num_nodes=n))
        t_atc.append(t)
    plain = approx_topological_concentration(train, test, num_nodes=n, exact_first_hop=False)
    te, ta = statistics.median(t_exact), statistics.median(t_atc)
    be, ba = min(t_exact), min(t_atc)
    deg = np.bincount(train.ravel(), minlength=n)
    return {
        "graph": f"{graph} (seed 0)",
        "nodes": n,
        "train_edges": int(train.shape[1]),
        "test_edges": int(test.shape[1]),
        "mean_train_degree": round(float(deg.mean()), 2),
        "exact_sparse_tc_s": {"median": round(te, 4), "min": round(be, 4)},
        "atc_dim64_s": {"median": round(ta, 4), "min": round(ba, 4)},
        "speedup_of_medians": round(te / ta, 1),
        "speedup_of_minima": round(be / ba, 1),
        "target_speedup": 10,
        "spearman_atc": round(float(spearmanr(tc[ok], atc[ok]).statistic), 4),
        "spearman_plain_projection": round(float(spearmanr(tc[ok], plain[ok]).statistic), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--quick", action="store_true", help="fewer seeds, no 20k section")
    args = parser.parse_args()
    sciml.set_num_threads(1)
    t0 = time.perf_counter()
    result: dict[str, Any] = {
        "machine": {
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "sciml_threads": sciml.get_num_threads(),
        }
    }
    result["exactness"] = exactness_section()
    proj = [0, 1] if args.quick else [0, 1, 2]
    result["atc_spearman"] = {
        "target": 0.75,
        "four_blocks_2k": spearman_runs(
            "four_blocks_2k", [0, 1] if args.quick else [0, 1, 2], proj, [64]
        ),
        "four_blocks_2k_dims": spearman_runs("four_blocks_2k", [0], proj, [16, 32, 128, 256]),
    }
    if not args.quick:
        result["atc_spearman"]["hundred_blocks_20k"] = spearman_runs(
            "hundred_blocks_20k", [0, 1], proj, [64]
        )
        result["timing_20k"] = [
            timing_section(g) for g in ("four_blocks_20k", "hundred_blocks_20k")
        ]
    result["total_s"] = round(time.perf_counter() - t0, 1)
    print(json.dumps(result, indent=2) if args.json else result)


if __name__ == "__main__":
    main()
