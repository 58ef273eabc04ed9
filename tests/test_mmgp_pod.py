"""Weighted snapshot POD against an SVD of the weighted snapshots."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml.mmgp.pod import snapshot_pod


def _weight(d: int, rng) -> sp.csr_matrix:
    diagonal = rng.uniform(0.5, 2.0, d)
    return sp.csr_matrix(sp.diags(diagonal))


@settings(max_examples=25, deadline=None)
@given(n=st.integers(2, 12), d=st.integers(2, 30), k=st.integers(1, 6), seed=st.integers(0, 999))
def test_pod_matches_svd_of_weighted_snapshots(n, d, k, seed):
    rng = np.random.default_rng(seed)
    snapshots = rng.normal(size=(n, d))
    weight = _weight(d, rng)
    pod = snapshot_pod(snapshots, weight, k)
    root = np.sqrt(weight.diagonal())
    centred = snapshots - snapshots.mean(axis=0)
    singular = np.linalg.svd(centred * root, compute_uv=False)
    kept = pod.n_modes
    assert kept == min(k, np.sum(singular**2 > 1e-12 * singular[0] ** 2))
    np.testing.assert_allclose(pod.eigenvalues, singular[:kept] ** 2, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(pod.modes.T @ weight @ pod.modes, np.eye(kept), atol=1e-9)
    coefficients = pod.project(snapshots)
    np.testing.assert_allclose((coefficients**2).sum(axis=0), pod.eigenvalues, rtol=1e-9)


def test_full_rank_pod_reconstructs_snapshots_exactly():
    rng = np.random.default_rng(0)
    snapshots = rng.normal(size=(5, 40))
    pod = snapshot_pod(snapshots, sp.identity(40, format="csr"), 10)
    assert pod.n_modes == 4  # five centred snapshots span four directions
    np.testing.assert_allclose(pod.reconstruct(pod.project(snapshots)), snapshots, atol=1e-12)


def test_identical_snapshots_give_one_zero_mode():
    pod = snapshot_pod(np.ones((3, 4)), sp.identity(4, format="csr"), 3)
    assert pod.n_modes == 1
    np.testing.assert_allclose(pod.reconstruct(pod.project(np.ones((2, 4)))), np.ones((2, 4)))


def test_bad_mode_count():
    with pytest.raises(ValueError, match="n_modes"):
        snapshot_pod(np.ones((3, 4)), sp.identity(4), 0)
