"""FastRP (sciml.graph): the Rust kernel against the numpy reference, graph inputs,
determinism, and input checks."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import sciml
from sciml.graph import FastRP, as_csr, fastrp_reference, random_projection


@pytest.fixture(autouse=True)
def _restore_threads():
    yield
    sciml.set_num_threads(None)


def random_graph(
    n: int, m: int, seed: int, directed: bool = False, weighted: bool = True
) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    src, dst = rng.integers(0, n, m), rng.integers(0, n, m)
    w = rng.uniform(0.5, 2.0, m) if weighted else np.ones(m)
    a = sp.coo_array((w, (src, dst)), shape=(n, n)).tocsr()
    return a if directed else sp.csr_array(a + a.T)


def reference_of(model: FastRP, adjacency, n: int) -> np.ndarray:
    """The reference embedding for a fitted model's settings (same R)."""
    r = random_projection(n, model.dim, model.sparsity_, model.seed)
    return fastrp_reference(
        adjacency,
        r,
        model.weights,
        model.beta,
        normalize=model.normalize,
        variant=model.variant,
        self_influence=model.self_influence,
        standardize=model.standardize,
    )


def assert_matches(emb: np.ndarray, ref: np.ndarray) -> None:
    assert emb.dtype == np.float32 and emb.shape == ref.shape
    scale = max(1.0, float(np.abs(ref).max())) if ref.size else 1.0
    np.testing.assert_allclose(emb, ref, rtol=0, atol=5e-5 * scale)


VARIANTS = [
    {},
    {"normalize": False, "weights": (1.0, 0.5, 2.0)},
    {"s": 2.0, "self_influence": 0.7, "standardize": False},
    {"variant": "gds", "s": 3.0, "weights": (0.0, 1.0, 1.0), "beta": 0.0},
    {
        "variant": "gds",
        "s": 50.0,
        "weights": (1.0, 0.0, 0.5, 2.0),
        "beta": -0.5,
        "self_influence": 1.5,
        "seed": 9,
    },
    {"weights": (3.0,), "dim": 20},
]


@pytest.mark.parametrize("kwargs", VARIANTS)
@pytest.mark.parametrize("directed", [False, True])
def test_matches_reference(kwargs, directed):
    a = random_graph(300, 900, seed=1, directed=directed)
    model = FastRP(**{"dim": 48, **kwargs})
    emb = model.fit_transform(a)
    assert_matches(emb, reference_of(model, a, 300))


def test_matches_reference_on_karate_club_and_with_sparse_powers():
    g = nx.karate_club_graph()
    a = nx.to_scipy_sparse_array(g, nodelist=list(g.nodes), format="csr")
    model = FastRP(dim=64)
    assert_matches(model.fit_transform(g), reference_of(model, a, 34))
    # a large s keeps R and the first powers in compressed rows inside the kernel
    a = random_graph(4000, 6000, seed=2, weighted=False)
    model = FastRP(dim=64, s=400.0)
    assert_matches(model.fit_transform(a), reference_of(model, a, 4000))


def cancelling_rows(a: sp.csr_array, r0: np.ndarray, steps: int, beta: float, variant: str) -> bool:
    """Whether some row of some N_t nearly cancels (norm below 1e-6 of the sum of the
    norms of what it adds up). Normalising such a row turns rounding noise into a unit
    vector, whose direction then differs between float32 and float64."""
    a = sp.csr_array(a, dtype=np.float64)
    weighted = np.asarray(a.sum(axis=1)).ravel()
    degree = weighted if variant == "paper" else np.diff(a.indptr).astype(float)
    scale = np.ones_like(degree)
    scale[degree > 0] = degree[degree > 0] ** beta
    inv = np.zeros_like(weighted)
    inv[weighted > 0] = 1 / weighted[weighted > 0]
    p = sp.diags_array(inv) @ a
    n_t = r0 * scale[:, None]
    for _ in range(steps):
        bound = np.abs(p) @ np.linalg.norm(n_t, axis=1)
        n_t = p @ n_t
        norms = np.linalg.norm(n_t, axis=1)
        if np.any((bound > 0) & (norms <= 1e-6 * bound)):
            return True
        if variant == "gds":
            n_t = n_t / np.where(norms > 0, norms, 1)[:, None]
    return False


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    n=st.integers(1, 25),
    density=st.floats(0.0, 0.5),
    dim=st.integers(1, 40),
    weights=st.lists(st.floats(-2.0, 8.0), min_size=1, max_size=5),
    beta=st.floats(-1.0, 0.5),
    s=st.one_of(st.just("sqrt"), st.floats(1.0, 30.0)),
    variant=st.sampled_from(["paper", "gds"]),
    normalize=st.booleans(),
    self_influence=st.sampled_from([0.0, 0.5]),
    seed=st.integers(0, 2**64 - 1),
    graph_seed=st.integers(0, 1000),
)
def test_matches_reference_on_random_graphs(
    n, density, dim, weights, beta, s, variant, normalize, self_influence, seed, graph_seed
):
    rng = np.random.default_rng(graph_seed)
    dense = (rng.random((n, n)) < density) * rng.integers(1, 4, (n, n))
    a = sp.csr_array(dense.astype(np.float64))
    kwargs = dict(
        dim=dim,
        weights=tuple(weights),
        beta=beta,
        s=s,
        seed=seed,
        variant=variant,
        normalize=normalize or variant == "gds",
        self_influence=self_influence,
    )
    raw = FastRP(**kwargs, standardize=False).fit(a)
    r0 = random_projection(n, dim, raw.sparsity_, seed)
    if kwargs["normalize"]:
        assume(not cancelling_rows(a, r0, len(weights), beta, variant))
    raw_ref = reference_of(raw, a, n)
    assert_matches(raw.embedding_, raw_ref)
    # standardised: dividing by a column's std amplifies float32 rounding where the
    # column barely varies, so compare the columns that do vary
    model = FastRP(**kwargs, standardize=True).fit(a)
    ref = reference_of(model, a, n)
    spread = raw_ref.std(axis=0) > 1e-3 * (np.abs(raw_ref).max(axis=0) + 1e-30)
    assert_matches(model.embedding_[:, spread], ref[:, spread])


def test_same_result_for_any_thread_count_and_memory_mode():
    a = random_graph(3000, 15000, seed=3)
    for kwargs in VARIANTS[:4]:
        results = []
        for threads in (1, 2):
            sciml.set_num_threads(threads)
            for low_memory in (False, True):
                model = FastRP(**{"dim": 40, **kwargs, "low_memory": low_memory})
                results.append(model.fit_transform(a))
        for emb in results[1:]:
            np.testing.assert_array_equal(results[0], emb)


def test_seed_determines_the_embedding():
    a = random_graph(200, 600, seed=4)
    e1 = FastRP(dim=32, seed=5).fit_transform(a)
    np.testing.assert_array_equal(e1, FastRP(dim=32, seed=5).fit_transform(a))
    assert not np.array_equal(e1, FastRP(dim=32, seed=6).fit_transform(a))


def test_karate_club_factions_are_separated():
    from sklearn.cluster import KMeans
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import adjusted_rand_score
    from sklearn.model_selection import LeaveOneOut, cross_val_score

    g = nx.karate_club_graph()
    y = np.array([g.nodes[v]["club"] == "Officer" for v in g.nodes], dtype=int)
    for model in (
        FastRP(dim=64, seed=0),
        FastRP(dim=128, seed=1),
        FastRP.gds(dim=64, node_self_influence=0.5, seed=2),
    ):
        x = model.fit_transform(g)
        accuracy = cross_val_score(
            LogisticRegression(C=0.1, max_iter=5000), x, y, cv=LeaveOneOut()
        ).mean()
        assert accuracy >= 0.9, (model.variant, accuracy)
        clusters = KMeans(2, n_init=10, random_state=0).fit_predict(x)
        assert adjusted_rand_score(y, clusters) >= 0.7


# --- graph inputs -------------------------------------------------------------------


def test_scipy_formats_networkx_and_edge_index_agree():
    torch = pytest.importorskip("torch")
    a = random_graph(50, 120, seed=5, directed=True)
    model = FastRP(dim=16)
    expected = model.fit_transform(a)
    for variant in (sp.csc_array(a), sp.coo_array(a), sp.csr_matrix(a), sp.lil_matrix(a)):
        np.testing.assert_array_equal(model.fit_transform(variant), expected)
    coo = sp.coo_array(a)
    edge_index = np.vstack([coo.row, coo.col])
    np.testing.assert_array_equal(
        model.fit_transform((torch.from_numpy(edge_index), 50, torch.from_numpy(coo.data))),
        expected,
    )
    np.testing.assert_array_equal(model.fit_transform((edge_index, 50, coo.data)), expected)
    g = nx.from_scipy_sparse_array(a, create_using=nx.DiGraph)
    np.testing.assert_array_equal(model.fit_transform(g), expected)


def test_networkx_labels_and_order():
    g = nx.Graph()
    g.add_edges_from([("c", "a"), ("a", "b"), ("b", "d"), ("d", "c"), ("e", "a")])
    g.add_node("lonely")
    model = FastRP(dim=8).fit(g)
    assert model.nodes_ == list(g.nodes)
    a = nx.to_scipy_sparse_array(g, nodelist=model.nodes_, format="csr")
    assert_matches(model.embedding_, reference_of(model, a, len(model.nodes_)))


def test_unweighted_edge_index_and_duplicates_add_up():
    edge_index = np.array([[0, 1, 1, 2, 0], [1, 0, 2, 1, 1]])  # edge 0 -> 1 twice
    a = sp.csr_array(np.array([[0, 2, 0], [1, 0, 1], [0, 1, 0]], dtype=float))
    model = FastRP(dim=8, s=1.0)
    np.testing.assert_array_equal(model.fit_transform((edge_index, 3)), model.fit_transform(a))


def test_directed_graphs_use_out_edges_and_symmetrize():
    a = random_graph(80, 200, seed=6, directed=True)
    model = FastRP(dim=24)
    out = model.fit_transform(a)
    assert not np.allclose(out, model.fit_transform(a.T.tocsr()))
    sym = FastRP(dim=24, symmetrize=True).fit_transform(a)
    np.testing.assert_array_equal(sym, model.fit_transform(sp.csr_array(a.maximum(a.T))))
    g = nx.DiGraph([(0, 1), (1, 2)])
    s, _ = as_csr(g)
    assert s.toarray().tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]


def test_isolated_nodes_self_loops_and_empty_graphs():
    # isolated nodes: N_t = 0, so they share one row (minus the column means, scaled)
    a = random_graph(60, 150, seed=7).tolil()
    a[55:, :] = 0
    a[:, 55:] = 0
    a = sp.csr_array(a)
    model = FastRP(dim=16)
    emb = model.fit_transform(a)
    assert_matches(emb, reference_of(model, a, 60))
    assert np.all(emb[55:] == emb[55])
    # a self loop is one entry S_ii, counted once among the node's neighbours
    g = nx.cycle_graph(6)
    g.add_edge(0, 0)
    s, _ = as_csr(g)
    assert s[0, 0] == 1 and s.sum() == 13
    assert_matches(model.fit_transform(g), reference_of(model, s, 6))
    # no edges: zeros; no nodes: an empty (0, dim) array
    np.testing.assert_array_equal(
        FastRP(dim=4).fit_transform(sp.csr_array((5, 5))), np.zeros((5, 4), np.float32)
    )
    for empty in (sp.csr_array((0, 0)), nx.Graph(), (np.zeros((2, 0), int), 0)):
        emb = FastRP(dim=4).fit_transform(empty)
        assert emb.shape == (0, 4) and emb.dtype == np.float32


def test_explicit_zeros_are_dropped():
    a = sp.csr_array(np.array([[0, 1.0, 0], [1, 0, 0], [0, 0, 0]]))
    # the same matrix with an explicit zero stored at (2, 0)
    with_zero = sp.csr_array(
        (np.array([1.0, 1.0, 0.0]), np.array([1, 0, 0]), np.array([0, 1, 2, 3])), shape=(3, 3)
    )
    assert with_zero.nnz == 3
    model = FastRP.gds(dim=8, normalization_strength=-1.0)
    np.testing.assert_array_equal(model.fit_transform(with_zero), model.fit_transform(a))


# --- checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("graph", "error", "match"),
    [
        (sp.csr_array((3, 4)), ValueError, "square"),
        (sp.csr_array(np.array([[0, -1.0], [1, 0]])), ValueError, r">= 0; S\[0, 1\]"),
        (sp.csr_array(np.array([[0, np.nan], [1, 0]])), ValueError, "finite"),
        (sp.csr_array(np.array([[0, 1e39], [1, 0]])), ValueError, "float32"),
        (sp.csr_array(np.array([[0, 1j], [1, 0]])), TypeError, "real"),
        (np.eye(3), TypeError, "graph must be"),
        ((np.zeros((3, 2), int), 3), ValueError, r"shape \(2, E\)"),
        ((np.array([[0, 1], [1, 3]]), 3), ValueError, "num_nodes"),
        ((np.array([[0, 1], [1, 2]]), -1), ValueError, "num_nodes"),
        ((np.array([[0, 1], [1, 2]]), 2.5), TypeError, "num_nodes"),
        ((np.array([[0.0, 1.0], [1.0, 2.0]]), 3), TypeError, "integers"),
        ((np.array([[0, 1], [1, 2]]), 3, np.ones(3)), ValueError, "edge_weight"),
        ((np.array([[0, 1], [1, 2]]),), TypeError, "tuple"),
    ],
)
def test_bad_graphs(graph, error, match):
    with pytest.raises(error, match=match):
        FastRP(dim=4).fit_transform(graph)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"dim": 0}, ValueError, "dim"),
        ({"dim": 2.5}, TypeError, "dim"),
        ({"dim": True}, TypeError, "dim"),
        ({"weights": ()}, ValueError, "weights"),
        ({"weights": (1.0, np.inf)}, ValueError, r"weights\[1\]"),
        ({"weights": "abc"}, TypeError, "weights"),
        ({"weights": 3.0}, TypeError, "weights"),
        ({"beta": np.nan}, ValueError, "beta"),
        ({"s": 0.5}, ValueError, "s must"),
        ({"s": "cube"}, ValueError, "s must"),
        ({"seed": -1}, ValueError, "seed"),
        ({"seed": 2**64}, ValueError, "seed"),
        ({"seed": 1.0}, TypeError, "seed"),
        ({"variant": "neo4j"}, ValueError, "variant"),
        ({"variant": "gds", "normalize": False}, ValueError, "normalize"),
        ({"normalize": 1}, TypeError, "normalize"),
        ({"self_influence": np.inf}, ValueError, "self_influence"),
        ({"standardize": "yes"}, TypeError, "standardize"),
        ({"symmetrize": None}, TypeError, "symmetrize"),
        ({"low_memory": 0}, TypeError, "low_memory"),
    ],
)
def test_bad_hyperparameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        FastRP(**kwargs).fit_transform(nx.path_graph(4))


def test_kernel_reports_bad_csr_arrays():
    from sciml import _core

    ok = dict(dim=4, weights=[1.0], beta=0.0, sparsity=2.0)
    indptr = np.array([0, 1, 2], dtype=np.int64)
    _core.fastrp_embedding(indptr, np.array([1, 0], np.int32), None, **ok)
    with pytest.raises(ValueError, match="square"):
        _core.fastrp_embedding(indptr, np.array([1, 2], np.int32), None, **ok)
    with pytest.raises(ValueError, match="non-decreasing"):
        _core.fastrp_embedding(np.array([0, 2, 1]), np.array([1, 0], np.int64), None, **ok)
    with pytest.raises(TypeError, match="int32 or int64"):
        _core.fastrp_embedding(indptr, np.array([1, 0], np.uint8), None, **ok)
    with pytest.raises(ValueError, match="normalization"):
        _core.fastrp_embedding(indptr, np.array([1, 0], np.int32), None, **ok, normalization="rows")


# --- the projection and the reference -----------------------------------------------


def test_random_projection():
    r = random_projection(300, 64, 4.0, seed=1)
    assert r.shape == (300, 64) and r.dtype == np.float32
    assert set(np.unique(r)) <= {-2.0, 0.0, 2.0}
    assert abs((r != 0).mean() - 0.25) < 0.02
    assert abs((r > 0).mean() - (r < 0).mean()) < 0.02
    np.testing.assert_array_equal(random_projection(100, 64, 4.0, seed=1), r[:100])
    assert not np.array_equal(random_projection(300, 64, 4.0, seed=2), r)


def test_reference_standardises_columns():
    a = random_graph(100, 300, seed=8)
    r = random_projection(100, 16, 10.0, seed=0)
    e = fastrp_reference(a, r, (0, 0, 1, 6.67), -0.64)
    np.testing.assert_allclose(e.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(e.std(axis=0), 1, atol=1e-12)
