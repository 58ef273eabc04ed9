"""TinvNN's modified classical MDS (sciml.graph.tinv): invariance to rotation, reflection,
translation and scaling, distance preservation, hand-checked tiny clouds, the tie rules,
torch and batch inputs, and input checks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import pdist, squareform
from scipy.stats import ortho_group

from sciml.graph.tinv import tinv_mds, tinv_mds_batch, tinv_mds_from_distances


def orthogonal(d: int, seed: int) -> np.ndarray:
    """A random orthogonal (d, d) matrix, a reflection for odd seeds."""
    if d == 1:
        return np.array([[1.0 if seed % 2 == 0 else -1.0]])
    q = ortho_group.rvs(d, random_state=seed)
    if (np.linalg.det(q) < 0) != (seed % 2 == 1):
        q[:, 0] = -q[:, 0]
    return q


def transform(x: np.ndarray, seed: int) -> np.ndarray:
    """x rotated or reflected, scaled by c in [1e-2, 1e2] and translated by up to 100."""
    rng = np.random.default_rng(seed)
    c = 10.0 ** rng.uniform(-2, 2)
    return c * x @ orthogonal(x.shape[1], seed) + rng.uniform(-100, 100, x.shape[1])


def rms_radius(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.sum((x - x.mean(axis=0)) ** 2, axis=1))))


def generic_cloud(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.standard_exponential((n, d)) * rng.uniform(0.2, 3.0, d)


clouds = st.tuples(st.integers(4, 40), st.integers(1, 4), st.integers(0, 2**31 - 1))


@settings(max_examples=40, deadline=None)
@given(clouds, st.integers(0, 2**31 - 1), st.integers(1, 5))
def test_invariant_under_similarity_transforms(cloud, tseed, dim):
    n, d, seed = cloud
    x = generic_cloud(n, d, seed)
    dim = min(dim, n)
    y = tinv_mds(x, dim)
    assert y.shape == (n, dim) and y.dtype == np.float64
    np.testing.assert_allclose(tinv_mds(transform(x, tseed), dim), y, rtol=0, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 12), st.integers(2, 3), st.integers(0, 2**31 - 1), st.integers(0, 99))
def test_invariant_for_symmetric_clouds(half, d, seed, tseed):
    """A mirror-symmetric cloud (zero third moment along an axis) and a regular polygon
    (equal eigenvalues) fall to the index rule, which is invariant too."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(half, d)) * np.arange(1, d + 1)
    mirror = np.vstack([a, a * np.r_[-1.0, np.ones(d - 1)]])
    angles = 2 * np.pi * np.arange(half + 3) / (half + 3)
    polygon = np.c_[np.cos(angles), np.sin(angles)]
    for x in (mirror, polygon):
        y = tinv_mds(x, x.shape[1])
        np.testing.assert_allclose(tinv_mds(transform(x, tseed), x.shape[1]), y, atol=1e-6)
        if x is mirror:
            with pytest.raises(ValueError, match="not unique"):
                tinv_mds(x, d, on_ambiguity="raise")


@settings(max_examples=30, deadline=None)
@given(clouds, st.integers(0, 3))
def test_distances_preserved_up_to_the_scale(cloud, extra):
    n, d, seed = cloud
    x = generic_cloud(n, d, seed)
    dim = min(d + extra, n)
    y = tinv_mds(x, dim)
    s = rms_radius(x)
    np.testing.assert_allclose(pdist(y) * s, pdist(x), rtol=1e-9, atol=1e-9 * s)
    np.testing.assert_allclose(np.mean(np.sum(y**2, axis=1)), 1.0, rtol=1e-12)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-12)
    gram = y.T @ y  # principal axes: uncorrelated coordinates, decreasing spread
    np.testing.assert_allclose(gram - np.diag(np.diag(gram)), 0.0, atol=1e-10)
    assert np.all(np.diff(np.diag(gram)) <= 1e-10)
    assert np.all(y[:, d:] == 0.0)  # beyond the rank: zero padding


def test_truncation_is_classical_mds_and_keeps_the_scale():
    x = generic_cloud(30, 4, 1)
    full, low = tinv_mds(x, 4), tinv_mds(x, 2)
    np.testing.assert_allclose(low, full[:, :2], atol=1e-12)
    # the rank-2 classical MDS of the Euclidean distances, up to the signs fixed here
    u, s, _ = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    np.testing.assert_allclose(np.abs(low), np.abs(u[:, :2] * s[:2]) / rms_radius(x), atol=1e-12)


def test_sign_rule_is_the_third_moment_and_permutation_equivariant():
    x = generic_cloud(25, 3, 7)
    y = tinv_mds(x, 3)
    assert np.all(np.sum(y**3, axis=0) > 0)
    perm = np.random.default_rng(0).permutation(25)
    np.testing.assert_allclose(tinv_mds(x[perm], 3), y[perm], atol=1e-12)


def test_points_on_a_line_by_hand():
    # centred -4/3, -1/3, 5/3; RMS radius sqrt(14)/3; third moment > 0 keeps the sign
    y = tinv_mds([[0.0, 0.0], [1.0, 1.0], [3.0, 3.0]], 2)
    s = np.sqrt(2.0) * np.sqrt(14.0) / 3.0  # the line runs along (1, 1)
    expected = np.sqrt(2.0) * np.array([-4.0, -1.0, 5.0]) / 3.0 / s
    np.testing.assert_allclose(y[:, 0], expected, atol=1e-14)
    assert np.all(y[:, 1] == 0.0)
    # the same points on the real line, mirrored (3 - t): the same output
    np.testing.assert_allclose(tinv_mds([[3.0], [2.0], [0.0]], 1)[:, 0], expected, atol=1e-14)


def test_right_triangle_by_hand():
    y = tinv_mds([[0.0, 0.0], [3.0, 0.0], [0.0, 4.0]], 2)
    s = np.sqrt(50.0) / 3.0  # squared radii 25/9, 52/9, 73/9 about the centroid (1, 4/3)
    np.testing.assert_allclose(squareform(pdist(y)) * s, [[0, 3, 4], [3, 0, 5], [4, 5, 0]])
    np.testing.assert_allclose(y.sum(axis=0), 0.0, atol=1e-14)
    assert np.all(np.sum(y**3, axis=0) > 0)


def test_square_uses_the_index_rule():
    square = np.array([[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]])
    expected = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    for seed in range(6):
        np.testing.assert_allclose(tinv_mds(transform(square, seed), 2), expected, atol=1e-12)
    with pytest.raises(ValueError, match="equal eigenvalues"):
        tinv_mds(square, 2, on_ambiguity="raise")


def test_rectangle_signs_follow_the_first_point():
    rect = np.array([[0.0, 0.0], [2.0, 0.0], [2.0, 1.0], [0.0, 1.0]])
    y = tinv_mds(rect, 2)
    s = np.sqrt(1.25)
    np.testing.assert_allclose(y[0], [1.0 / s, 0.5 / s], atol=1e-12)
    np.testing.assert_allclose(np.abs(y), np.abs(y[0]) * np.ones((4, 1)), atol=1e-12)
    with pytest.raises(ValueError, match="symmetric distribution"):
        tinv_mds(rect, 2, on_ambiguity="raise")


def test_from_distances_matches_points_and_handles_non_euclidean():
    x = generic_cloud(20, 3, 3)
    d = squareform(pdist(x))
    np.testing.assert_allclose(tinv_mds_from_distances(d, 3), tinv_mds(x, 3), atol=1e-9)
    np.testing.assert_allclose(
        tinv_mds_from_distances(7.5 * d, 5), tinv_mds_from_distances(d, 5), atol=1e-9
    )
    # shortest paths on a 6-cycle: not Euclidean (negative eigenvalues clipped), still runs
    ring = np.array([[min(abs(i - j), 6 - abs(i - j)) for j in range(6)] for i in range(6)])
    y = tinv_mds_from_distances(ring.astype(float), 3)
    assert y.shape == (6, 3) and np.all(np.isfinite(y))


def test_torch_input_and_batches():
    x = generic_cloud(16, 3, 5)
    y = tinv_mds(x, 3)
    t32 = tinv_mds(torch.tensor(x, dtype=torch.float32), 3)
    assert isinstance(t32, torch.Tensor) and t32.dtype == torch.float32
    np.testing.assert_allclose(t32.numpy(), y, atol=1e-5)
    t64 = tinv_mds(torch.tensor(x), 3)
    assert t64.dtype == torch.float64
    np.testing.assert_allclose(t64.numpy(), y, atol=1e-12)
    assert tinv_mds(torch.tensor([[0, 0], [1, 0], [0, 2]]), 2).dtype == torch.float64

    batch = np.stack([x, transform(x, 3)])
    out = tinv_mds_batch(batch, 2)
    assert out.shape == (2, 16, 2)
    np.testing.assert_allclose(out[1], out[0], atol=1e-9)
    assert tinv_mds_batch(torch.tensor(batch), 2).shape == (2, 16, 2)
    ragged = tinv_mds_batch([x, x[:5]], 3)
    assert [r.shape for r in ragged] == [(16, 3), (5, 3)]
    with pytest.raises(ValueError, match="cloud 1"):
        tinv_mds_batch([x, np.zeros((4, 3))], 2)
    with pytest.raises(ValueError, match="3-D"):
        tinv_mds_batch(x, 2)


@pytest.mark.parametrize(
    ("points", "dim", "match"),
    [
        (np.zeros((3, 5)), 2, "fewer points than dimensions"),
        (np.ones((4, 2)) * np.arange(4)[:, None], 5, "fewer points than dimensions"),
        (np.array([[0.0, 1.0], [np.nan, 0.0], [1.0, 1.0]]), 2, "NaN or inf"),
        (np.array([[0.0, 1.0], [np.inf, 0.0], [1.0, 1.0]]), 2, "NaN or inf"),
        (np.arange(5.0), 1, "2-D"),
        (np.zeros((2, 3, 4)), 1, "2-D"),
        (np.zeros((0, 2)), 1, "non-empty"),
        (np.full((5, 2), 3.3), 2, "all points are equal"),
        (np.eye(3), 0, "dim must be >= 1"),
        (np.eye(3), 1.5, "dim must be an integer"),
        (np.eye(3), True, "dim must be an integer"),
        ([["a", "b"], ["c", "d"]], 1, "real numeric"),
        (np.array([[1j, 0.0], [0.0, 1.0], [2.0, 2.0]]), 2, "must be real"),
    ],
)
def test_bad_input(points, dim, match):
    with pytest.raises(ValueError, match=match):
        tinv_mds(points, dim)


def test_bad_options_and_distances():
    with pytest.raises(ValueError, match="on_ambiguity"):
        tinv_mds(np.eye(3), 2, on_ambiguity="random")
    with pytest.raises(ValueError, match="tie_tol"):
        tinv_mds(np.eye(3), 2, tie_tol=-1.0)
    good = squareform(pdist(generic_cloud(5, 2, 0)))
    bad = {
        "square": good[:4],
        "NaN or inf": np.where(good == good[0, 1], np.nan, good),
        ">= 0": -good,
        "symmetric": good + np.triu(np.ones_like(good), 1),
        "zero diagonal": good + np.eye(5),
        "all distances are zero": np.zeros((5, 5)),
    }
    for match, d in bad.items():
        with pytest.raises(ValueError, match=match):
            tinv_mds_from_distances(d, 2)
    with pytest.raises(ValueError, match="fewer points"):
        tinv_mds_from_distances(good, 6)
