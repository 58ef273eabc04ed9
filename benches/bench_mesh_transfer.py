"""P1 field transfer benchmark: the Rust kernel against its numpy/scipy twin.

Two differently perturbed Delaunay meshes of the unit square with about the same number
of nodes; times the transfer matrices both ways (A -> B and B -> A), best of a few runs,
and checks that the two implementations agree. Prints JSON.

    python benches/bench_mesh_transfer.py [--sizes 3000 16000 64000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
from scipy.spatial import Delaunay

import sciml
from sciml.mesh import transfer_matrix, transfer_matrix_reference


def square_mesh(nodes: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A jittered n x n grid on [0, 1]^2 (boundary nodes slide along the boundary)."""
    n = max(2, round(np.sqrt(nodes)))
    rng = np.random.default_rng(seed)
    g = np.linspace(0.0, 1.0, n)
    x, y = np.meshgrid(g, g, indexing="ij")
    p = np.stack([x.ravel(), y.ravel()], axis=1)
    jitter = rng.uniform(-0.3, 0.3, p.shape) / (n - 1)
    on_edge = (p == 0.0) | (p == 1.0)
    jitter[on_edge] = 0.0
    p = p + jitter
    return p, Delaunay(p).simplices.astype(np.int64)


def best_time(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 16000, 64000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rows = []
    for size in args.sizes:
        pa, ca = square_mesh(size, 1)
        pb, cb = square_mesh(size, 2)

        def rust(pa=pa, ca=ca, pb=pb, cb=cb):
            return transfer_matrix(pa, ca, pb), transfer_matrix(pb, cb, pa)

        def ref(pa=pa, ca=ca, pb=pb, cb=cb):
            return transfer_matrix_reference(pa, ca, pb), transfer_matrix_reference(pb, cb, pa)

        diff = max(abs(r - s).max() for r, s in zip(rust(), ref(), strict=True))
        rows.append(
            {
                "nodes": len(pa),
                "cells": len(ca),
                "rust_s": best_time(rust, args.repeat),
                "reference_s": best_time(ref, args.repeat),
                "max_abs_diff": float(diff),
            }
        )
        rows[-1]["speedup"] = rows[-1]["reference_s"] / rows[-1]["rust_s"]
    info = {"machine": platform.machine(), "threads": sciml.get_num_threads()}
    print(json.dumps({"info": info, "transfer_both_ways": rows}, indent=2))


if __name__ == "__main__":
    main()
