"""Stochastic block models (exact pair decoding, edge counts, errors) and the real networks
shipped in the package."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sciml.data import karate_club, les_miserables, planted_partition, stochastic_block_model
from sciml.data.graphs import _triangle_pairs


@settings(max_examples=30, deadline=None)
@given(s=st.integers(2, 60))
def test_triangle_pairs_enumerate_the_upper_triangle_in_order(s):
    i, j = _triangle_pairs(np.arange(s * (s - 1) // 2, dtype=np.int64), s)
    expected = np.array([(a, b) for a in range(s) for b in range(a + 1, s)])
    np.testing.assert_array_equal(np.column_stack([i, j]), expected)


def test_triangle_pairs_exact_for_a_million_nodes():
    s = 10**6
    k = np.array([0, 1, s - 2, s - 1, s * (s - 1) // 2 - 1, 123_456_789_012], dtype=np.int64)
    i, j = _triangle_pairs(k, s)
    # rows before i hold i(2s - i - 1)/2 pairs
    np.testing.assert_array_equal(i * (2 * s - i - 1) // 2 + (j - i - 1), k)
    assert (i < j).all() and (j < s).all()


def test_sbm_edges_are_simple_sorted_and_as_dense_as_asked():
    sizes = [300, 200, 100]
    p = np.array([[0.1, 0.01, 0.0], [0.01, 0.05, 0.02], [0.0, 0.02, 0.3]])
    ei, blocks = stochastic_block_model(sizes, p, seed=0)
    assert ei.dtype == np.int64 and (ei[0] < ei[1]).all()
    keys = ei[0] * 600 + ei[1]
    assert (np.diff(keys) > 0).all()  # sorted and no repeats
    np.testing.assert_array_equal(np.bincount(blocks), sizes)
    a, b = blocks[ei[0]], blocks[ei[1]]
    for x in range(3):
        for y in range(x, 3):
            pairs = sizes[x] * (sizes[x] - 1) / 2 if x == y else sizes[x] * sizes[y]
            count = int(((a == x) & (b == y)).sum())
            mean = pairs * p[x, y]
            assert abs(count - mean) <= 5 * np.sqrt(mean + 1), (x, y, count, mean)
    again, _ = stochastic_block_model(sizes, p, seed=0)
    np.testing.assert_array_equal(again, ei)


def test_planted_partition_degree_and_homophily():
    ei, blocks = planted_partition(20_000, 5, mean_degree=10, homophily=0.7, seed=1)
    assert abs(2 * ei.shape[1] / 20_000 - 10) < 0.2
    assert abs((blocks[ei[0]] == blocks[ei[1]]).mean() - 0.7) < 0.02


@pytest.mark.parametrize(
    "sizes, p, match",
    [
        ([10, -1], np.eye(2) * 0.1, "sizes must be >= 0"),
        ([10, 10], np.eye(3) * 0.1, r"shape \(2, 2\)"),
        ([10, 10], [[0.1, 0.2], [0.3, 0.1]], "symmetric"),
        ([10, 10], [[1.5, 0], [0, 0.1]], r"\[0, 1\]"),
        ([10, 10], [[np.nan, 0], [0, 0.1]], r"\[0, 1\]"),
        ([], np.zeros((0, 0)), "non-empty"),
    ],
)
def test_sbm_bad_input(sizes, p, match):
    with pytest.raises(ValueError, match=match):
        stochastic_block_model(sizes, p)


def test_planted_partition_bad_input():
    with pytest.raises(ValueError, match="n_blocks must be <="):
        planted_partition(3, 5, 2.0, 0.5)
    with pytest.raises(ValueError, match="homophily"):
        planted_partition(30, 3, 2.0, 1.5)
    with pytest.raises(ValueError, match="mean_degree"):
        planted_partition(30, 3, 0.0, 0.5)


def test_karate_club_is_networkx_graph():
    nx = pytest.importorskip("networkx")
    k = karate_club()
    assert (k.num_nodes, k.edge_index.shape[1]) == (34, 78)
    assert k.label_names == ["Mr. Hi", "Officer"]
    assert np.bincount(k.labels).tolist() == [17, 17]
    reference = nx.karate_club_graph()
    ours = k.to_networkx()
    assert nx.utils.edges_equal(
        [(int(a), int(b), d["weight"]) for a, b, d in ours.edges(data=True)],
        [(a, b, float(d["weight"])) for a, b, d in reference.edges(data=True)],
    )
    g = k.graph()
    assert g.num_nodes == 34 and g.num_edges == 156
    assert (g.adjacency != g.adjacency.T).nnz == 0
    np.testing.assert_allclose(g.out_degree.sum(), 2 * k.edge_weight.sum())


def test_les_miserables_matches_networkx():
    nx = pytest.importorskip("networkx")
    m = les_miserables()
    assert (m.num_nodes, m.edge_index.shape[1], m.labels) == (77, 254, None)
    reference = nx.les_miserables_graph()
    ours = m.to_networkx()
    assert set(ours.nodes) == set(reference.nodes)
    for a, b, d in reference.edges(data=True):
        assert ours[a][b]["weight"] == d["weight"]
    ei, w = m.both_directions()
    assert ei.shape == (2, 508) and w.shape == (508,)
