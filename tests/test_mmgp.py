"""MMGP end to end on small synthetic shape families (no gmsh needed)."""

from __future__ import annotations

import meshio
import numpy as np
import pytest

from sciml.gp import GPRegressor
from sciml.mmgp import MMGP, field_rel_rmse, nodal_coverage, scalar_rel_rmse
from sciml.mmgp.baseline import NearestNeighbourRegressor


def wavy_plate(a: float, b: float, nx: int, ny: int) -> tuple[meshio.Mesh, np.ndarray]:
    """A structured triangle mesh of the plate a sin(pi y/2) <= x <= 1 + b sin(pi y/2),
    0 <= y <= 2, and its corner nodes counter-clockwise from the bottom-left."""
    s, y = np.meshgrid(np.linspace(0, 1, nx), np.linspace(0, 2, ny))
    left, right = a * np.sin(np.pi * y / 2), 1 + b * np.sin(np.pi * y / 2)
    points = np.column_stack([(left + s * (right - left)).ravel(), y.ravel()])
    index = np.arange(nx * ny).reshape(ny, nx)
    lower, upper = index[:-1, :-1].ravel(), index[1:, :-1].ravel()
    triangles = np.vstack(
        [np.column_stack([lower, lower + 1, upper + 1]), np.column_stack([lower, upper + 1, upper])]
    )
    corners = np.array([index[0, 0], index[0, -1], index[-1, -1], index[-1, 0]])
    return meshio.Mesh(points, [("triangle", triangles)]), corners


def field(points: np.ndarray, load: float) -> np.ndarray:
    x, y = points[:, 0], points[:, 1]
    return load * (y + 0.3 * x * y + 0.1 * np.sin(2 * x))


def make_set(n: int, seed: int):
    rng = np.random.default_rng(seed)
    meshes, corners, loads, values = [], [], [], []
    for _ in range(n):
        mesh, corner = wavy_plate(
            rng.uniform(-0.15, 0.15), rng.uniform(-0.15, 0.15), *rng.integers(9, 14, size=2)
        )
        load = rng.uniform(0.5, 1.5)
        meshes.append(mesh)
        corners.append(corner)
        loads.append(load)
        values.append(field(mesh.points, load))
    inputs = np.array(loads)[:, None]
    scalars = {"max": np.array([v.max() for v in values])}
    return meshes, inputs, {"u": values}, scalars, corners


@pytest.fixture(scope="module")
def fitted():
    train = make_set(30, seed=0)
    model = MMGP(n_shape_modes=4, n_field_modes=4, progress=False)
    meshes, inputs, fields, scalars, corners = train
    return model.fit(meshes, inputs, fields, scalars, landmarks=corners)


def test_mmgp_predicts_unseen_shapes_with_calibrated_uncertainty(fitted):
    meshes, inputs, fields, scalars, corners = make_set(15, seed=1)
    prediction = fitted.predict(meshes, inputs, landmarks=corners)
    assert field_rel_rmse(prediction.fields["u"], fields["u"]) < 2e-2
    assert scalar_rel_rmse(prediction.scalars["max"], scalars["max"]) < 2e-2
    for mean, std, mesh in zip(
        prediction.fields["u"], prediction.fields_std["u"], meshes, strict=True
    ):
        assert mean.shape == std.shape == (len(mesh.points),)
        assert np.all(std >= 0) and std.max() > 0  # zero only where every field is zero
    assert nodal_coverage(fields["u"], prediction.fields["u"], prediction.fields_std["u"]) > 0.85


def test_nodal_std_is_the_closed_form_of_the_coefficient_variance(fitted):
    """Nodal variance = the GP coefficients' variance through the linear reconstruction and
    transfer, plus the training residual variance."""
    meshes, inputs, _, _, corners = make_set(1, seed=2)
    prediction = fitted.predict(meshes, inputs, landmarks=corners)
    # Monte Carlo over the GP's independent Gaussian coefficients, pushed through the same
    # linear reconstruction and transfer.
    sample = fitted._morph(meshes, corners, "")[0]
    back = sample.from_common(fitted.common_)
    coordinates = (sample.to_common(fitted.common_) @ sample.points).T.ravel()
    features = np.hstack([fitted.shape_pod_.project(coordinates), inputs])
    mean, std = fitted.regressor_.predict(features, return_std=True)
    pod, cut = fitted.field_pods_["u"], fitted.output_slices_["u"]
    rng = np.random.default_rng(0)
    draws = mean[0, cut] + std[0, cut] * rng.standard_normal((20_000, pod.n_modes))
    nodal = back @ pod.reconstruct(draws).T
    np.testing.assert_allclose(nodal.mean(axis=1), prediction.fields["u"][0], atol=1e-2)
    floor = back @ fitted.residual_variance_["u"]  # the GP-blind transfer and truncation error
    expected = np.sqrt(nodal.var(axis=1) + floor)
    np.testing.assert_allclose(expected, prediction.fields_std["u"][0], rtol=0.05)


def test_save_and_load_give_identical_predictions(fitted, tmp_path):
    meshes, inputs, _, _, corners = make_set(3, seed=3)
    before = fitted.predict(meshes, inputs, landmarks=corners)
    after = MMGP.load(fitted.save(tmp_path / "model.pkl")).predict(
        meshes, inputs, landmarks=corners
    )
    for a, b in zip(before.fields["u"], after.fields["u"], strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(before.scalars_std["max"], after.scalars_std["max"])


def test_load_refuses_other_files(tmp_path):
    path = tmp_path / "other.pkl"
    path.write_bytes(b"\x80\x05N.")  # a pickled None
    with pytest.raises(ValueError, match="not an MMGP file"):
        MMGP.load(path)


def test_nearest_neighbour_regressor_plugs_in():
    meshes, inputs, fields, scalars, corners = make_set(10, seed=4)
    model = MMGP(3, 3, regressor=NearestNeighbourRegressor(), progress=False)
    model.fit(meshes, inputs, fields, scalars, landmarks=corners)
    prediction = model.predict(meshes[:2], inputs[:2], landmarks=corners[:2])
    np.testing.assert_allclose(prediction.scalars["max"], scalars["max"][:2])
    assert np.isnan(prediction.fields_std["u"][0]).all()


def test_a_given_common_mesh_is_used(fitted):
    meshes, inputs, fields, scalars, corners = make_set(12, seed=5)
    common = meshio.Mesh(fitted.common_.points, [("triangle", fitted.common_.triangles)])
    model = MMGP(3, 3, common_mesh=common, regressor=GPRegressor(n_restarts=1), progress=False)
    model.fit(meshes, inputs, fields, scalars, landmarks=corners)
    np.testing.assert_array_equal(model.common_.points, fitted.common_.points)
    outside = meshio.Mesh(2 * fitted.common_.points, [("triangle", fitted.common_.triangles)])
    with pytest.raises(ValueError, match="unit disk"):
        MMGP(3, 3, common_mesh=outside, progress=False).fit(meshes, inputs, fields)


def test_bad_training_data_names_the_sample():
    meshes, inputs, fields, _, corners = make_set(3, seed=6)
    model = MMGP(2, 2, progress=False)
    with pytest.raises(ValueError, match="empty"):
        model.fit([], inputs[:0], {"u": []})
    short = {"u": [fields["u"][0], fields["u"][1][:-1], fields["u"][2]]}
    with pytest.raises(ValueError, match="sample 1"):
        model.fit(meshes, inputs, short)
    nan = {"u": [fields["u"][0], fields["u"][1], np.full_like(fields["u"][2], np.nan)]}
    with pytest.raises(ValueError, match="sample 2"):
        model.fit(meshes, inputs, nan)
    with pytest.raises(ValueError, match="inputs"):
        model.fit(meshes, inputs[:2], fields)
    with pytest.raises(ValueError, match="landmarks"):
        model.fit(meshes, inputs, fields, landmarks=corners[:2])
    with pytest.raises(RuntimeError, match="not fitted"):
        model.predict(meshes, inputs)


def test_a_mesh_with_a_hole_is_refused_by_index():
    meshes, inputs, fields, _, _ = make_set(2, seed=7)
    mesh = meshes[1]
    triangles = mesh.cells_dict["triangle"]
    centre = np.argmin(np.linalg.norm(mesh.points - mesh.points.mean(axis=0), axis=1))
    holed = triangles[~np.any(triangles == centre, axis=1)]
    meshes[1] = meshio.Mesh(mesh.points, [("triangle", holed)])
    with pytest.raises(ValueError, match="mesh 1"):
        MMGP(2, 2, progress=False).fit(meshes, inputs, fields)
