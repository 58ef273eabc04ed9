"""P1 mass matrices and simplex measures against closed-form integrals."""

import numpy as np
import pytest
import scipy.spatial
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml.mesh import mass_matrix


def _square_mesh(n_points: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    corners = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)
    points = np.vstack([corners, rng.random((n_points, 2))])
    return points, scipy.spatial.Delaunay(points).simplices


def _cube_mesh(n_points: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], dtype=float)
    points = np.vstack([corners, rng.random((n_points, 3))])
    return points, scipy.spatial.Delaunay(points).simplices


@settings(max_examples=20, deadline=None)
@given(n_points=st.integers(0, 60), seed=st.integers(0, 10_000))
def test_mass_matrix_integrates_products_of_linear_fields_exactly_2d(n_points, seed):
    points, cells = _square_mesh(n_points, seed)
    mass = mass_matrix(points, cells)
    f = 1 + 2 * points[:, 0] + 3 * points[:, 1]
    g = 1.0 - points[:, 1]
    # On the unit square: int (1 + 2x + 3y)(1 - y) = 1/2 + 1/2 + 1/2.
    expected = (1 * 1 / 2) + (2 * 1 / 2 * 1 / 2) + 3 * (1 / 2 - 1 / 3)
    assert f @ mass @ g == pytest.approx(expected, rel=1e-12)
    assert mass.sum() == pytest.approx(1.0, rel=1e-12)
    assert abs(mass - mass.T).max() == 0


@settings(max_examples=10, deadline=None)
@given(n_points=st.integers(0, 40), seed=st.integers(0, 10_000))
def test_mass_matrix_integrates_products_of_linear_fields_exactly_3d(n_points, seed):
    points, cells = _cube_mesh(n_points, seed)
    mass = mass_matrix(points, cells)
    f = points[:, 0] + points[:, 2]
    # int_cube (x + z)^2 = 1/3 + 2 * 1/4 + 1/3
    assert f @ mass @ f == pytest.approx(2 / 3 + 1 / 2, rel=1e-12)
    assert mass.sum() == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(
    ("points", "cells", "match"),
    [
        (np.zeros((3, 2)), np.array([[0, 1, 2, 0]]), "cells"),
        (np.zeros((3, 4)), np.array([[0, 1, 2]]), "points"),
        (np.zeros((3, 2)), np.array([[0, 1, 3]]), "node 3"),
    ],
)
def test_bad_meshes_are_named(points, cells, match):
    with pytest.raises(ValueError, match=match):
        mass_matrix(points, cells)
