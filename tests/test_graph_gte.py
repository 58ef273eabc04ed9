"""GTE (exact closed form vs the authors' propagation, ranking, errors), the top-k metrics
on hand-computed cases, the implicit-feedback generator and the per-user split, and the
Rust kernel against its numpy twin."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml import _core
from sciml._checks import NotFittedError
from sciml.data import implicit_feedback, implicit_feedback_preset, split_per_user
from sciml.graph import (
    GTE,
    gte_polynomial,
    gte_reference,
    hit_rate_at_k,
    ndcg_at_k,
    recall_at_k,
    top_k_reference,
)

# 3 users x 4 items: u0 {0, 1}, u1 {1, 2}, u2 {3}
TINY = sp.csr_array(np.array([[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 0, 1]], dtype=np.float32))


def _random_r(n_users: int, n_items: int, density: float, seed: int, weighted=False):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_users, n_items)) < density
    values = rng.random((n_users, n_items)) + 0.5 if weighted else np.ones((n_users, n_items))
    return sp.csr_array(np.where(mask, values, 0.0))


def test_tiny_example_by_hand():
    # L = 3: S = R R^T R + 3 R. R^T R = [[1,1,0,0],[1,2,1,0],[0,1,1,0],[0,0,0,1]].
    # u0: rows 0 + 1 of G = [2,3,1,0], + 3 R_0 = [5,6,1,0]; u1: rows 1 + 2 = [1,3,2,0] + [0,3,3,0]
    # u2: row 3 = [0,0,0,1] + [0,0,0,3].
    model = GTE(layers=3).fit(TINY)
    np.testing.assert_array_equal(model.scores(), [[5, 6, 1, 0], [1, 6, 5, 0], [0, 0, 0, 4]])
    assert model.scores().dtype == np.float32
    # unseen items: u0 -> 2 (1) then 3 (0); u1 -> 0 (1) then 3; u2 -> 0, 1, 2 all 0: by id
    np.testing.assert_array_equal(model.recommend(k=2), [[2, 3], [0, 3], [0, 1]])
    np.testing.assert_array_equal(
        model.recommend(k=2, exclude_seen=False), [[1, 0], [1, 2], [3, 0]]
    )
    # k larger than the unseen items: seen items last, lower ids first
    np.testing.assert_array_equal(model.recommend([0], k=4), [[2, 3, 0, 1]])
    np.testing.assert_array_equal(model.recommend(np.array([2, 0]), k=1), [[0], [2]])


def test_polynomial_by_induction():
    assert [gte_polynomial(n).tolist() for n in range(1, 7)] == [
        [1], [2], [3, 1], [4, 4], [5, 10, 1], [6, 20, 6]
    ]  # fmt: skip


@pytest.mark.parametrize("layers", [1, 2, 3, 4, 5, 6])
@pytest.mark.parametrize("weighted", [False, True])
def test_blocked_scores_equal_the_literal_propagation(layers, weighted):
    r = _random_r(9, 13, 0.3, seed=layers, weighted=weighted)
    want = gte_reference(r, layers)
    for block in (1, 3, 5, 13, 50):
        model = GTE(layers, block_size=block, dtype=np.float64).fit(r)
        np.testing.assert_allclose(model.scores(), want, rtol=1e-12, atol=1e-12)
        users = np.array([4, 0, 8, 4])
        np.testing.assert_allclose(model.scores(users), want[users], rtol=1e-12)


@pytest.mark.parametrize("block", [1, 7, 64, 1000])
def test_recommend_equals_the_reference_ranking(block):
    r = _random_r(40, 30, 0.15, seed=1)
    want_scores = gte_reference(r, 3)
    model = GTE(3, block_size=block).fit(r)
    for exclude in (True, False):
        want = top_k_reference(want_scores, 10, r if exclude else None)
        np.testing.assert_array_equal(model.recommend(k=10, exclude_seen=exclude), want)


def test_ties_go_to_the_lower_item_id():
    # every item is scored equally by user 0 (all-ones row): the top-k is 0..k-1
    r = sp.csr_array(np.ones((2, 6)))
    np.testing.assert_array_equal(
        GTE().fit(r).recommend(k=4, exclude_seen=False), [[0, 1, 2, 3]] * 2
    )
    # a user without items scores everything 0
    r = sp.csr_array(np.array([[0, 1, 1.0], [0, 0, 0]]))
    np.testing.assert_array_equal(GTE().fit(r).recommend([1], k=3), [[0, 1, 2]])


@settings(max_examples=25, deadline=None)
@given(
    n_users=st.integers(1, 12),
    n_items=st.integers(1, 12),
    layers=st.integers(1, 5),
    chunk=st.integers(1, 9),
    seed=st.integers(0, 1000),
)
def test_kernel_matches_numpy_twin(n_users, n_items, layers, chunk, seed):
    r = _random_r(n_users, n_items, 0.4, seed, weighted=True)
    if r.nnz == 0:
        return
    rt = sp.csr_array(r.T)
    rt.sort_indices()
    args = (
        r.indptr.astype(np.int64), r.indices.astype(np.int64), r.data,
        rt.indptr.astype(np.int64), rt.indices.astype(np.int64), rt.data,
        n_items, [float(c) for c in gte_polynomial(layers)],
    )  # fmt: skip
    users = np.arange(n_users, dtype=np.int64)
    want = gte_reference(r, layers)
    got = _core.gte_scores(*args, users, 0, n_items, chunk)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    k = min(3, n_items)
    ids, _ = _core.gte_topk(
        *args, users, 0, n_items, np.full((n_users, k), -1), np.zeros((n_users, k)), chunk=chunk
    )
    ref = top_k_reference(want, k, r)
    unseen = n_items - np.diff(r.indptr)
    for u in range(n_users):
        m = min(k, unseen[u])  # the kernel leaves seen items out entirely
        np.testing.assert_array_equal(ids[u, :m], ref[u, :m])
        assert (ids[u, m:] == -1).all()


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda m: m.recommend(k=5), ValueError, "k must be <= n_items"),
        (lambda m: m.recommend(k=0), ValueError, "k must be >= 1"),
        (lambda m: m.recommend([3], k=2), ValueError, "users must be in"),
        (lambda m: m.recommend([-1], k=2), ValueError, "users must be in"),
        (lambda m: m.recommend([0.5], k=2), TypeError, "integer"),
        (lambda m: m.scores(7), ValueError, "1-d"),
        (lambda m: m.recommend(exclude_seen=None, k=2), TypeError, "bool"),
    ],
)
def test_bad_calls(call, error, match):
    with pytest.raises(error, match=match):
        call(GTE().fit(TINY))


@pytest.mark.parametrize(
    ("r", "error", "match"),
    [
        (sp.csr_array((3, 4)), ValueError, "empty"),
        (sp.csr_array((0, 4)), ValueError, "users and items"),
        (sp.csr_array(np.array([[np.nan, 1.0]])), ValueError, "finite"),
        (sp.csr_array(np.array([[-1.0, 1.0]])), ValueError, ">= 0"),
        (np.ones((2, 2)), TypeError, "scipy.sparse"),
    ],
)
def test_bad_interactions(r, error, match):
    with pytest.raises(error, match=match):
        GTE().fit(r)


def test_bad_hyperparameters_and_not_fitted():
    with pytest.raises(NotFittedError, match="fit"):
        GTE().recommend([0])
    with pytest.raises(ValueError, match="layers"):
        GTE(layers=0).fit(TINY)
    with pytest.raises(ValueError, match="block_size"):
        GTE(block_size=0).fit(TINY)
    with pytest.raises(ValueError, match="dtype"):
        GTE(dtype=np.int32).fit(TINY)
    # bool and int interactions are accepted as weights
    np.testing.assert_array_equal(GTE().fit(TINY.astype(bool)).scores(), GTE().fit(TINY).scores())


# --- metrics -----------------------------------------------------------------------------


def test_metrics_by_hand():
    rec = np.array([[3, 1, 2], [0, 1, 2], [4, 0, 1]])
    test = [np.array([1, 5]), np.array([], dtype=np.int64), np.array([4, 0, 1, 2])]
    # u0: hit at position 2 of 3; 2 test items. u1: excluded. u2: hits at 1, 2, 3; 4 items.
    r0, r2 = 1 / 2, 3 / 4
    assert recall_at_k(rec, test) == pytest.approx((r0 + r2) / 2)
    d = 1 / np.log2(np.arange(2, 5))
    n0 = d[1] / (d[0] + d[1])  # IDCG over min(3, 2) positions
    n2 = 1.0  # IDCG over min(3, 4) = 3 positions, all hit
    assert ndcg_at_k(rec, test) == pytest.approx((n0 + n2) / 2)
    assert hit_rate_at_k(rec, test) == 1.0
    assert recall_at_k(rec, test, k=1) == pytest.approx((0 + 1 / 4) / 2)
    assert hit_rate_at_k(rec, test, k=1) == pytest.approx(0.5)
    per = ndcg_at_k(rec, test, per_user=True)
    assert np.isnan(per[1]) and per[2] == pytest.approx(1.0)
    sparse_test = sp.csr_array(
        (np.ones(6), np.array([1, 5, 4, 0, 1, 2]), np.array([0, 2, 2, 6])), shape=(3, 6)
    )
    assert ndcg_at_k(rec, sparse_test) == pytest.approx((n0 + n2) / 2)


def test_metric_errors():
    with pytest.raises(ValueError, match="repeats"):
        recall_at_k(np.array([[1, 1]]), [np.array([1])])
    with pytest.raises(ValueError, match="no user"):
        recall_at_k(np.array([[1]]), [np.array([], dtype=np.int64)])
    with pytest.raises(ValueError, match="n_items"):
        recall_at_k(np.array([[7]]), sp.csr_array((1, 3)))
    with pytest.raises(ValueError, match="one row per row"):
        recall_at_k(np.array([[1]]), sp.csr_array((2, 3)))
    with pytest.raises(ValueError, match="k = 3"):
        recall_at_k(np.array([[1]]), [np.array([1])], k=3)


# --- data ---------------------------------------------------------------------------------


def test_generator_shape_density_determinism():
    r = implicit_feedback(500, 300, 4000, n_communities=5, seed=3)
    assert r.shape == (500, 300) and r.nnz == 4000 and r.dtype == np.float32
    assert (r.data == 1).all() and r.has_canonical_format
    again = implicit_feedback(500, 300, 4000, n_communities=5, seed=3)
    assert (r != again).nnz == 0
    assert (r != implicit_feedback(500, 300, 4000, n_communities=5, seed=4)).nnz > 0
    assert implicit_feedback(100, 50, density=0.1).nnz == 500
    # power-law popularity: the most popular 10% of items hold far more than 10%
    pop = np.sort(np.asarray(r.sum(axis=0)).ravel())[::-1]
    assert pop[:30].sum() > 0.25 * r.nnz
    with pytest.raises(ValueError, match="exactly one"):
        implicit_feedback(10, 10)
    with pytest.raises(ValueError, match="half"):
        implicit_feedback(10, 10, 60)
    with pytest.raises(ValueError, match="preset"):
        implicit_feedback_preset("huge")


def test_communities_make_gte_beat_popularity():
    train, test = split_per_user(implicit_feedback_preset("small"), 0.2, seed=0)
    rec = GTE().fit(train).recommend(k=20)
    pop = np.asarray(train.sum(axis=0)).ravel()
    order = np.lexsort((np.arange(pop.size), -pop))
    seen = train.toarray() > 0
    pop_rec = np.array([[i for i in order if not s[i]][:20] for s in seen])
    assert recall_at_k(rec, test) > 1.5 * recall_at_k(pop_rec, test)


def test_split_keeps_a_train_item_per_user():
    r = implicit_feedback(300, 100, 2000, seed=1)
    train, test = split_per_user(r, 0.3, seed=2)
    assert train.nnz + test.nnz == r.nnz
    assert (train.multiply(test)).nnz == 0
    assert ((train + test) != r).nnz == 0
    deg = np.diff(r.indptr)
    assert (np.diff(train.indptr)[deg > 0] >= 1).all()
    np.testing.assert_array_equal(
        np.diff(test.indptr), np.minimum(np.rint(0.3 * deg), np.maximum(deg - 1, 0))
    )
    again, _ = split_per_user(r, 0.3, seed=2)
    assert (again != train).nnz == 0
    with pytest.raises(ValueError, match="< 1"):
        split_per_user(r, 1.0)
