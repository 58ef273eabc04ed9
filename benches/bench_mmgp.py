"""MMGP benchmark: the Rust morphing and transfer kernels against their scipy twins, and
MMGP's accuracy on the generated Tensile2d-like set beside a nearest-neighbour baseline.

    python benches/bench_mmgp.py --json                 # everything (about 20 min on 2 cores)
    python benches/bench_mmgp.py --json --skip-mmgp     # kernels only
    python benches/bench_mmgp.py --json --train 100 --test 50 --skip-kernels

Kernels: for meshes of about 3k, 16k and 64k nodes (two random plate shapes each, meshed
by gmsh: a "sample" and the "common" mesh, morphed beforehand), one MMGP sample's geometric work,
that is Floater morphing with corner landmarks plus both transfer operators (sample to
common, common to sample), timed for sciml's Rust kernels and for the scipy twins in
``floater_morph_reference`` and ``transfer_matrix_reference`` (best of --repeats),
with the folded-element count and the error of a transferred linear field.

MMGP: the set's last --test samples are the test set, the first n of the rest train.
Fields are scored by the PLAID relative RMSE, scalars by the per-sample relative RMSE,
uncertainty by the 95% interval coverage over all test nodes. A scalar that is the maximum
of a field ("max_von_mises") is scored twice: as regressed by its own GP, and as the
maximum of the predicted field ("max_von_mises_from_field").
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from sciml.data import DEFAULT_MESH_SIZE, gmsh_session, mesh_plate, random_plate, tensile2d
from sciml.mesh import floater_morph, mesh_quality, transfer_matrix, transfer_matrix_reference
from sciml.mesh.morph_reference import floater_morph_reference
from sciml.mmgp import MMGP, field_rel_rmse, nodal_coverage, scalar_rel_rmse
from sciml.mmgp.baseline import NearestNeighbourRegressor
from sciml.mmgp.geometry import default_landmark_angles

DEFAULT_NODES = 3000  # DEFAULT_MESH_SIZE gives about this many nodes


def _best_time(repeats: int, work, *args) -> tuple[float, object]:
    work(*args)  # untimed warm-up (caches, thread pools), for both sides alike
    best, result = np.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        result = work(*args)
        best = min(best, time.perf_counter() - start)
    return best, result


def _geometric_work(morph, transfer, sample, common) -> tuple:
    points, triangles, corners = sample
    common_points, common_triangles = common
    angles = default_landmark_angles(len(corners))
    morphed = morph(points, triangles, corners, angles)
    to_common = transfer(morphed, triangles, common_points)
    from_common = transfer(common_points, common_triangles, morphed)
    return morphed, to_common, from_common


def bench_kernels(sizes: list[int], repeats: int, seed: int) -> list[dict]:
    cases = []
    for nodes in sizes:
        rng = np.random.default_rng(seed)
        size = DEFAULT_MESH_SIZE * np.sqrt(DEFAULT_NODES / nodes)
        with gmsh_session():
            first, second = (mesh_plate(random_plate(rng), size) for _ in range(2))
        p1, t1 = second.points, second.triangles
        common = (floater_morph(p1, t1, second.corners, default_landmark_angles(4)), t1)
        cases.append((first, (first.points, first.triangles, first.corners), common))
    # Every Rust timing comes before every scipy one: OpenBLAS threads left spinning
    # after a scipy call would otherwise share the CPUs with the next Rust timing.
    rust = [
        _best_time(repeats, _geometric_work, floater_morph, transfer_matrix, sample, common)
        for _, sample, common in cases
    ]
    rows = []
    for (first, sample, common), (rust_s, rust_result) in zip(cases, rust, strict=True):
        morphed, to_common, from_common = rust_result
        scipy_s, (ref_morphed, ref_to, ref_from) = _best_time(
            repeats,
            _geometric_work,
            floater_morph_reference,
            transfer_matrix_reference,
            sample,
            common,
        )
        p0, t0 = first.points, first.triangles
        folded = mesh_quality(morphed, t0, reference_points=p0).n_inverted
        rows.append(
            {
                "nodes": len(p0),
                "common_nodes": len(common[0]),
                "rust_s": rust_s,
                "scipy_s": scipy_s,
                "speedup": scipy_s / rust_s,
                "folded_elements": int(folded),
                "linear_field_error": _linear_transfer_error(morphed, common[0], to_common),
                "max_diff_morph": float(np.abs(morphed - ref_morphed).max()),
                "max_diff_transfer": float(
                    max(abs(to_common - ref_to).max(), abs(from_common - ref_from).max())
                ),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _linear_transfer_error(src: np.ndarray, dst: np.ndarray, transfer) -> float:
    """max |T f(src) - f(dst)| for an affine f, over destination points surely inside the
    source mesh (the source boundary is a polygon inscribed in the unit circle)."""
    n_boundary = int(np.sum(np.linalg.norm(src, axis=1) > 1 - 1e-9))
    inside = np.linalg.norm(dst, axis=1) < np.cos(np.pi / n_boundary) - 1e-9
    affine = np.array([2.0, -3.0])
    error = transfer @ (src @ affine + 1) - (dst @ affine + 1)
    return float(np.abs(error[inside]).max())


def _scores(prediction, truth) -> dict:
    out = {}
    for name, values in truth.fields.items():
        out[name] = field_rel_rmse(prediction.fields[name], values)
        std = prediction.fields_std[name]
        if not np.isnan(std[0]).all():
            out[f"{name}_coverage95"] = nodal_coverage(values, prediction.fields[name], std)
    for name, values in truth.scalars.items():
        out[name] = scalar_rel_rmse(prediction.scalars[name], values)
        field = name.removeprefix("max_")
        if field in prediction.fields:  # the same maximum, taken over the predicted field
            maxima = np.array([f.max() for f in prediction.fields[field]])
            out[f"{name}_from_field"] = scalar_rel_rmse(maxima, values)
    return out


def bench_mmgp(trains: list[int], n_test: int, seed: int, modes: int) -> list[dict]:
    start = time.perf_counter()
    data = tensile2d(max(trains) + n_test, seed)
    generation_s = time.perf_counter() - start
    test = data.subset(range(len(data) - n_test, len(data)))
    rows = []
    for n in trains:
        train = data.subset(range(n))
        for name, regressor, landmarks in (
            ("mmgp", None, True),
            ("nearest_neighbour", NearestNeighbourRegressor(), True),
            ("mmgp_no_landmarks", None, False),
        ):
            if name == "mmgp_no_landmarks" and n != min(trains):
                continue
            model = MMGP(modes, modes, regressor=regressor, progress=False)
            begin = time.perf_counter()
            model.fit(
                train.meshes,
                train.inputs,
                train.fields,
                train.scalars,
                landmarks=train.corners if landmarks else None,
            )
            fit_s = time.perf_counter() - begin
            begin = time.perf_counter()
            prediction = model.predict(
                test.meshes, test.inputs, landmarks=test.corners if landmarks else None
            )
            predict_s = time.perf_counter() - begin
            row = {
                "model": name,
                "n_train": n,
                "n_test": n_test,
                "fit_s": fit_s,
                "predict_s": predict_s,
                **_scores(prediction, test),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    return [{"generation_s": generation_s, "samples": len(data)}, *rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON summary at the end")
    parser.add_argument("--sizes", type=int, nargs="+", default=[3000, 16000, 64000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train", type=int, nargs="+", default=[100, 200, 500])
    parser.add_argument("--test", type=int, default=200)
    parser.add_argument("--modes", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-kernels", action="store_true")
    parser.add_argument("--skip-mmgp", action="store_true")
    args = parser.parse_args()
    result = {"machine": f"{platform.machine()}, {platform.processor() or 'cpu'}"}
    if not args.skip_kernels:
        result["kernels"] = bench_kernels(args.sizes, args.repeats, args.seed)
    if not args.skip_mmgp:
        result["mmgp"] = bench_mmgp(args.train, args.test, args.seed, args.modes)
    if args.json:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
