"""FastRP node embeddings (Chen et al., CIKM 2019), with Neo4j GDS's variant as an option.

The maths, for a graph with adjacency S (n, n) (row i: the edges out of node i, weights
>= 0), transition matrix P = D^-1 S (D the weighted degrees; rows of zero weight stay
zero) and embedding dimension d::

    R   = diag(deg^beta) R0          R0 (n, d): +-sqrt(s) w.p. 1/(2s) each, else 0
    N_t = P N_{t-1},  N_0 = R        t = 1..k, k = len(weights)
    E   = self_influence * N^_0 + sum_t weights[t-1] * N^_t
    out = E with standardised columns (mean 0, variance 1)

``weights[0]`` weighs N_1 = P R (one hop), ``weights[t-1]`` weighs P^t R. N^_t is N_t
with unit-norm rows (``normalize=True``).

The paper (``variant="paper"``, the default) and Neo4j GDS (``variant="gds"``, or
:meth:`FastRP.gds`) side by side:

==============================  ===============================  ============================
                                paper (authors' ``fastrp.py``)   Neo4j GDS ``gds.fastRP``
==============================  ===============================  ============================
sparsity s of R                 sqrt(n) (``s="sqrt"``)            3
weights (BlogCatalog/default)   (0, 0, 1, 6.67), beta = -0.64    ``iterationWeights`` (0, 1, 1)
beta                            ``alpha`` of the code             ``normalizationStrength``
degree in deg^beta              weighted degree                   relationship count
normalisation                   powers P^t R propagate            each step is normalised,
                                unnormalised; each enters the     and the normalised matrix
                                sum row-normalised                propagates
self term                       none                              ``nodeSelfInfluence`` ``R/|R|``
column standardisation          yes (``sklearn...scale``)         no
==============================  ===============================  ============================

Both scale R's entries by 1/sqrt(d) as well; any constant factor is removed by the row
normalisation or the standardisation, so it is left out here.

Graph conventions: a directed graph is used as given (row i of S: the out-edges of
node i, so a node averages over its successors; for ``edge_index``, S[src, dst], so pass
``edge_index.flip(0)`` for targets averaging over their sources as in PyG's message
flow); ``symmetrize=True`` uses ``max(S, S^T)`` instead. A self loop is an entry S_ii: the
node counts itself once among the nodes it averages over, and in its degree (networkx
stores an undirected self loop as S_ii = weight). Isolated nodes (no out-edge weight)
get N_t = 0 for t >= 1 (and deg^beta = 1), so they all share the row (0 - mean) / std
after standardisation. Duplicate entries are summed and explicit zeros dropped before
the kernel runs. Weights are used in float32, like the whole computation.

The kernel (Rust, ``sciml._core.fastrp_embedding``) runs without the GIL on sciml's
threads (:func:`sciml.set_num_threads`) and gives the same bits whatever their number.
R is generated row by row from ``(seed, node)``, never stored as a dense matrix; early
powers that are still sparse (large s on a sparse graph) are kept in compressed rows;
and at most three (n, dim) float32 buffers are live, two for the default weights, one
and a half with ``low_memory``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any, Literal, TypeAlias

import numpy as np
import scipy.sparse as sp

from sciml import _core
from sciml._checks import check_int, check_real
from sciml.graph.backbone import MAX_NODES, is_networkx
from sciml.graph.backbone import Graph as GraphContainer

Variant: TypeAlias = Literal["paper", "gds"]
Graph: TypeAlias = Any
"""scipy.sparse matrix or array (n, n); networkx graph; ``(edge_index, num_nodes)`` or
``(edge_index, num_nodes, edge_weight)`` with edge_index a (2, E) integer tensor or array;
or a :class:`sciml.graph.Graph`."""


def as_csr(graph: Graph, symmetrize: bool = False) -> tuple[sp.csr_array, list[Any] | None]:
    """The graph as a canonical CSR adjacency S (n, n) with finite weights >= 0.

    The conversion is :meth:`sciml.graph.Graph.from_any`'s.

    Args:
        graph: a scipy.sparse matrix or array (n, n); a networkx graph (rows in
            ``list(G.nodes)`` order, edge attribute ``"weight"`` where present, else 1;
            directed graphs give their out-edges); ``(edge_index, num_nodes)`` /
            ``(edge_index, num_nodes, edge_weight)`` with edge_index (2, E) integers,
            edge e going from ``edge_index[0, e]`` to ``edge_index[1, e]`` (S[src, dst]);
            or a :class:`sciml.graph.Graph`.
        symmetrize: use ``max(S, S^T)`` (an undirected graph).

    Returns:
        ``(S, nodes)``: S a ``scipy.sparse.csr_array`` without duplicates or explicit
        zeros, and the node labels of a networkx graph (None otherwise).

    Raises:
        TypeError: for an unsupported graph type or a non-numeric dtype.
        ValueError: for a non-square matrix, NaN, infinite or negative weights.
    """
    g = GraphContainer.from_any(graph)
    nodes = list(g.node_ids) if is_networkx(graph) else None
    if symmetrize:
        g = g.symmetrized()
    return g.adjacency, nodes


def _kernel_arrays(s: sp.csr_array) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """indptr int64, indices int32/int64 and float32 weights (None when all are 1)."""
    indptr = np.ascontiguousarray(s.indptr, dtype=np.int64)
    indices = s.indices
    if indices.dtype not in (np.int32, np.int64):
        indices = indices.astype(np.int64)
    indices = np.ascontiguousarray(indices)
    data: np.ndarray | None = None
    if not (s.data == 1).all():
        if s.data.max() > np.finfo(np.float32).max:
            raise ValueError(
                f"graph weights must fit in float32 (the kernel's type); max {s.data.max()}"
            )
        data = np.ascontiguousarray(s.data, dtype=np.float32)
    return indptr, indices, data


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return bool(value)


def random_projection(num_nodes: int, dim: int, s: float, seed: int = 0) -> np.ndarray:
    """The random projection R0 that FastRP uses for ``(s, seed)``, as a dense matrix.

    Row j depends only on ``(seed, j)``: each entry is +sqrt(s) or -sqrt(s) with
    probability 1/(2s) each, else 0. FastRP scales row j by deg_j^beta.

    Args:
        num_nodes: n >= 0.
        dim: d >= 1.
        s: sparsity >= 1 (density 1/s).
        seed: integer in [0, 2**64).

    Returns:
        R0, float32 (num_nodes, dim). Dense: for small graphs (tests, references).
    """
    num_nodes, dim, seed = (
        check_int(v, name, lo, hi)
        for name, v, lo, hi in (
            ("num_nodes", num_nodes, 0, MAX_NODES),
            ("dim", dim, 1, MAX_DIM),
            ("seed", seed, 0, 2**64 - 1),
        )
    )
    return _core.fastrp_projection(num_nodes, dim, float(s), seed)


MAX_DIM = 2**32 - 1
"""The largest embedding dimension the kernel takes."""


class FastRP:
    """FastRP node embeddings (see the module docstring for the maths and the variants).

    Args:
        dim: embedding dimension d >= 1.
        weights: iteration weights alpha_1..alpha_k (k >= 1); ``weights[t-1]`` weighs the
            t-hop term P^t R.
        beta: degree exponent of R's rows (the paper's alpha, GDS's normalizationStrength).
        normalize: scale each term to unit row norm before weighting (the paper's
            per-step normalisation). Always on for ``variant="gds"``.
        s: sparsity of R: ``"sqrt"`` for sqrt(n) (the paper's code) or a number >= 1
            (3 in Neo4j GDS).
        seed: seed of R, an integer in [0, 2**64); same seed, same embedding, whatever
            the thread count.
        variant: ``"paper"`` or ``"gds"``.
        self_influence: weight of the row-normalised R in the sum (GDS's
            nodeSelfInfluence).
        standardize: standardise the columns of the result; None means True for
            ``"paper"``, False for ``"gds"``.
        symmetrize: embed the undirected graph ``max(S, S^T)``.
        low_memory: run the last step in place, over the previous power: half an
            (n, dim) float32 buffer less, one more pass over the edges, the same result.
            None: when the embedding takes at least 256 MiB.

    Attributes:
        embedding_: float32 (n, dim), row i for node i (``nodes_[i]`` for networkx).
        nodes_: the node labels of a networkx graph, in row order; None otherwise.
        sparsity_: the sparsity s used.

    Example:
        >>> import networkx as nx
        >>> emb = FastRP(dim=32, weights=(0, 1, 1)).fit_transform(nx.karate_club_graph())
        >>> emb.shape, emb.dtype
        ((34, 32), dtype('float32'))
    """

    def __init__(
        self,
        dim: int = 128,
        weights: Sequence[float] = (0.0, 0.0, 1.0, 6.67),
        beta: float = -0.64,
        normalize: bool = True,
        s: float | Literal["sqrt"] = "sqrt",
        seed: int = 0,
        *,
        variant: Variant = "paper",
        self_influence: float = 0.0,
        standardize: bool | None = None,
        symmetrize: bool = False,
        low_memory: bool | None = None,
    ) -> None:
        self.dim = dim
        self.weights = weights
        self.beta = beta
        self.normalize = normalize
        self.s = s
        self.seed = seed
        self.variant = variant
        self.self_influence = self_influence
        self.standardize = standardize
        self.symmetrize = symmetrize
        self.low_memory = low_memory

    @classmethod
    def gds(
        cls,
        dim: int = 128,
        iteration_weights: Sequence[float] = (0.0, 1.0, 1.0),
        normalization_strength: float = 0.0,
        node_self_influence: float = 0.0,
        seed: int = 0,
        *,
        symmetrize: bool = False,
        low_memory: bool | None = None,
    ) -> FastRP:
        """FastRP with Neo4j GDS's semantics and defaults (s = 3, no standardisation),
        its parameters under GDS's names."""
        return cls(
            dim=dim,
            weights=iteration_weights,
            beta=normalization_strength,
            normalize=True,
            s=3.0,
            seed=seed,
            variant="gds",
            self_influence=node_self_influence,
            standardize=False,
            symmetrize=symmetrize,
            low_memory=low_memory,
        )

    def _options(self, n: int) -> dict[str, Any]:
        """Checked keyword arguments of ``_core.fastrp_embedding`` for n nodes."""
        if isinstance(self.dim, bool) or not isinstance(self.dim, numbers.Integral):
            raise TypeError(f"dim must be an int, got {type(self.dim).__name__}")
        if not 1 <= self.dim <= MAX_DIM:
            raise ValueError(f"dim must be in [1, {MAX_DIM}], got {self.dim}")
        if isinstance(self.weights, str | bytes) or not hasattr(self.weights, "__len__"):
            raise TypeError(f"weights must be a sequence of numbers, got {self.weights!r}")
        weights = [check_real(w, f"weights[{i}]") for i, w in enumerate(self.weights)]
        if not weights:
            raise ValueError("weights must have at least one entry (k >= 1 steps), got ()")
        beta = check_real(self.beta, "beta")
        normalize = _check_bool("normalize", self.normalize)
        if self.variant not in ("paper", "gds"):
            raise ValueError(f"variant must be 'paper' or 'gds', got {self.variant!r}")
        if self.variant == "gds" and not normalize:
            raise ValueError("variant='gds' always normalises (as Neo4j GDS); use normalize=True")
        if isinstance(self.s, str):
            if self.s != "sqrt":
                raise ValueError(f"s must be 'sqrt' or a number >= 1, got {self.s!r}")
            sparsity = max(1.0, math.sqrt(n))
        else:
            sparsity = check_real(self.s, "s")
            if sparsity < 1:
                raise ValueError(f"s must be 'sqrt' or a number >= 1, got {sparsity}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, numbers.Integral):
            raise TypeError(f"seed must be an int, got {type(self.seed).__name__}")
        if not 0 <= self.seed < 2**64:
            raise ValueError(f"seed must be in [0, 2**64), got {self.seed}")
        self_influence = check_real(self.self_influence, "self_influence")
        standardize = (
            self.variant == "paper"
            if self.standardize is None
            else _check_bool("standardize", self.standardize)
        )
        _check_bool("symmetrize", self.symmetrize)
        low_memory = None if self.low_memory is None else _check_bool("low_memory", self.low_memory)
        if self.variant == "paper":
            normalization, degree = ("output" if normalize else "none"), "weighted"
        else:
            normalization, degree = "propagate", "count"
        return {
            "dim": int(self.dim),
            "weights": weights,
            "beta": beta,
            "sparsity": sparsity,
            "normalization": normalization,
            "degree": degree,
            "self_influence": self_influence,
            "standardize": standardize,
            "seed": int(self.seed),
            "low_memory": low_memory,
        }

    def fit(self, graph: Graph) -> FastRP:
        """Computes the embedding of ``graph`` (see :func:`as_csr` for the accepted types).

        Returns:
            self, with ``embedding_`` float32 (n, dim), ``nodes_`` and ``sparsity_``.

        Raises:
            ValueError: bad options or graph, or weights/beta so large that the embedding
                overflows float32.
            MemoryError: the embedding (n, dim) does not fit in the memory available.
        """
        _check_bool("symmetrize", self.symmetrize)
        s, nodes = as_csr(graph, symmetrize=bool(self.symmetrize))
        n = s.shape[0]
        opts = self._options(n)
        indptr, indices, data = _kernel_arrays(s)
        del s
        self.embedding_: np.ndarray = _core.fastrp_embedding(indptr, indices, data, **opts)
        self.nodes_: list[Any] | None = nodes
        self.sparsity_: float = opts["sparsity"]
        return self

    def fit_transform(self, graph: Graph) -> np.ndarray:
        """The embedding of ``graph``: float32 (n, dim), rows in node order
        (``list(G.nodes)`` for networkx)."""
        return self.fit(graph).embedding_
