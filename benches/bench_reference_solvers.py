"""Timings and error estimates of the cached references in sciml.pde.reference_solvers.

    python benches/bench_reference_solvers.py           # about 3 minutes on one core
    python benches/bench_reference_solvers.py --refine  # + a 1024-cell solve (~10 min)

Prints one JSON object per measurement:

- ``allen_cahn``: wall time of the default reference (512 modes, dt = 5e-4, 201 x 512),
  its error against 4096 modes at the same nodes (space), against dt / 4 (time), and the
  same for the ``n_modes=2048, x_stride=4`` variant on the same 512 nodes.
- ``allen_cahn_interp``: error of the cubic interpolator on the default 201 x 512 grid,
  measured at the nodes of a 401 x 1024 grid of a 4096-mode solve.
- ``nonlinear_diffusion``: wall time of the default reference (512 cells, RK4), the
  observed orders and the Richardson estimate of its error from 128 / 256 / 512 cells
  (and 1024 with --refine), on the h = 1/64 nodes the grids share.
- ``nonlinear_diffusion_interp``: error of the cubic interpolator on the default output
  grid (every 4th node + every node within 8 cells of a wall), measured at 300 000 random
  nodes of the full 513 x 513 solver grid, at the 101 output times.

Wall times depend on the (shared) machine; errors do not.
"""

from __future__ import annotations

import argparse
import itertools
import json
import time

import numpy as np

from sciml.pde.reference_solvers import (
    GridReference,
    allen_cahn_reference,
    nonlinear_diffusion_reference,
)


def _err(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    d = a - b
    return {"max_abs": float(abs(d).max()), "rel_l2": float(np.linalg.norm(d) / np.linalg.norm(b))}


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def bench_allen_cahn() -> list[dict]:
    ref, seconds = _timed(allen_cahn_reference)
    fine_x = allen_cahn_reference(4096, x_stride=8).values
    fine_t = allen_cahn_reference(512, dt=1.25e-4).values
    var, var_seconds = _timed(allen_cahn_reference, 2048, x_stride=4)
    rows = [
        {
            "case": "allen_cahn",
            "grid": list(ref.values.shape),
            "seconds": round(seconds, 3),
            "space_error_vs_4096_modes": _err(ref.values, fine_x),
            "time_error_vs_dt_over_4": _err(ref.values, fine_t),
            "variant_2048_modes_x_stride_4": {
                "seconds": round(var_seconds, 3),
                "space_error_vs_4096_modes": _err(var.values, fine_x),
            },
        }
    ]
    fine = allen_cahn_reference(4096, n_times=401, x_stride=4)
    t, x = fine.axes
    coarse = GridReference(("t", "x"), (t[::2], x[::2]), fine.values[::2, ::2], (False, True))
    tt, xx = np.meshgrid(t, x, indexing="ij")
    pts = np.stack([tt.ravel(), xx.ravel()], axis=1)
    err = {m: _err(coarse(pts, method=m), fine.values.ravel()) for m in ("cubic", "linear")}
    rows.append({"case": "allen_cahn_interp", "grid": [201, 512], **err})
    return rows


def bench_nonlinear_diffusion(refine: bool) -> list[dict]:
    ref, seconds = _timed(nonlinear_diffusion_reference)
    sols = {}
    for n in (128, 256, 512) + ((1024,) if refine else ()):
        sols[n], sols_seconds = _timed(
            nonlinear_diffusion_reference, n, output_stride=n // 128, wall_cells=0
        )
    ns = sorted(sols)
    diffs = [sols[a].values - sols[b].values for a, b in itertools.pairwise(ns)]
    maxes = [float(abs(d).max()) for d in diffs]
    rels = [float(np.linalg.norm(d) / np.linalg.norm(sols[512].values)) for d in diffs]
    order_max = [float(np.log2(a / b)) for a, b in itertools.pairwise(maxes)]
    order_rel = [float(np.log2(a / b)) for a, b in itertools.pairwise(rels)]
    i512 = ns.index(512) - 1  # index of the (256, 512) difference
    p_max, p_rel = order_max[0], order_rel[0]  # from (128, 256) and (256, 512)
    row = {
        "case": "nonlinear_diffusion",
        "grid": list(ref.values.shape),
        "seconds": round(seconds, 3),
        "differences": [f"{a} vs {b}" for a, b in itertools.pairwise(ns)],
        "max_abs_differences": maxes,
        "rel_l2_differences": rels,
        "observed_order_max": order_max,
        "observed_order_rel_l2": order_rel,
        "richardson_error_512": {
            "max_abs": maxes[i512] / (2**p_max - 1),
            "rel_l2": rels[i512] / (2**p_rel - 1),
            "orders_used": [p_max, p_rel],
        },
    }
    if refine:
        row["seconds_1024"] = round(sols_seconds, 3)
        row["error_512_vs_1024"] = _err(sols[512].values, sols[1024].values)
    rows = [row]

    full = nonlinear_diffusion_reference(512, output_stride=1, wall_cells=0)
    t, nodes = full.axes[0], full.axes[1]
    keep = np.searchsorted(nodes, ref.axes[1])
    sub = GridReference(
        ref.names, (t, nodes[keep], nodes[keep]), full.values[:, keep][:, :, keep], ref.periodic
    )
    assert np.array_equal(sub.values, ref.values)
    rng = np.random.default_rng(0)
    ti, xi, yi = (rng.integers(0, s, 300_000) for s in full.values.shape)
    pts = np.stack([t[ti], nodes[xi], nodes[yi]], axis=1)
    exact = full.values[ti, xi, yi]
    err = {m: _err(sub(pts, method=m), exact) for m in ("cubic", "linear")}
    uniform = nodes[::4]
    keep_u = np.searchsorted(nodes, uniform)
    plain = GridReference(
        ref.names, (t, uniform, uniform), full.values[:, keep_u][:, :, keep_u], ref.periodic
    )
    err["cubic_without_wall_nodes"] = _err(plain(pts), exact)
    rows.append({"case": "nonlinear_diffusion_interp", "grid": list(ref.values.shape), **err})
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--refine", action="store_true", help="also solve with 1024 cells")
    args = parser.parse_args(argv)
    for row in bench_allen_cahn() + bench_nonlinear_diffusion(args.refine):
        print(json.dumps(row))


if __name__ == "__main__":
    main()
