"""IRWE: inductive identity and position embeddings from random walks, without attributes.

After Qin and Yeung, "IRWE: Inductive Random Walk for Joint Inference of Identity and
Position Network Embedding" (arXiv 2401.00651, v3). What could be read of the paper here
was its abstract and introduction (arxiv.org/html/2401.00651v3 as stored): several attention
units read random walks (RWs) on the topology alone, random-walk statistics (anonymous walks
among them) characterise node identities (structural roles) and positions (communities)
while allowing inductive inference, and the identity and position embeddings are derived
simultaneously and optimised jointly. Its method section and the authors' code were not
reachable, so the design below is this module's own, chosen in that spirit; each choice is
stated so that it can be checked against the paper.

Statistics (all inductive: computed on whatever graph is given, with no node parameters).

- Anonymous walks (AWs; Ivanov and Burnaev, ICML 2018): a walk (w_0, ..., w_l) becomes the
  sequence of first-occurrence ranks, a_t = number of distinct nodes among w_0..w_j, minus
  one, where j is the first step with w_j = w_t; e.g. (5, 3, 5, 7, 3) -> (0, 1, 0, 2, 1).
  The AWs of l steps are the restricted growth strings of length l + 1 (Bell(l + 1) of
  them: 52 for l = 4, 203 for l = 5). The identity statistic of node v is the distribution
  p_v over AW types of the l-step walks that start at v: exact (every walk enumerated with
  its probability) when the graph has at most ``max_exact_walks`` such walks, else the
  empirical distribution of ``aw_walks`` sampled walks per node (``aw_mode``). The exact
  statistic is the same for automorphic nodes (a cycle's nodes, a path's two ends).
- Degree statistics along the walk: s_v = (E[log(1 + deg(w_t)) | w_0 = v])_{t=0..deg_steps}
  = (P^t log(1 + deg))_v, exact by sparse products.
- Position statistic: the landing probabilities of the walk on ``n_anchors`` anchor nodes,
  relative to the stationary distribution, r_v = log(1 + P^t[v, a] / pi_a) for
  t = 1..pos_steps and anchors a (pi_a = deg_a / vol). The anchors are the nodes of largest
  degree of the training graph (ties: the lower row). At :meth:`IRWE.transform`, anchors
  whose labels are present in the new graph are kept (new or held-out nodes added to the
  training graph: one coordinate system); on a graph that has none of them, its own
  largest-degree nodes stand in (a new graph: the position embeddings then live in that
  graph's own frame; only their relative geometry carries over). Missing anchors give zero
  columns. Communities are not a local property, so some reference set is unavoidable for
  an attribute-free inductive position; anchors of large degree are what a new graph can
  also name.

Attention units and embeddings (dimension d = ``dim`` each).

- Identity unit: node v's multiset of anonymous walks is a set of AW-type tokens (a learned
  (K, d) table) weighted by p_v. A summary h0 = sum_a p_v(a) e_a + MLP(s_v) queries the
  tokens by multi-head attention with the log-weights log p_v(a) added to the logits (the
  same as attending over the sampled walks one by one, duplicates included), then a residual
  feed-forward block with layer norms: identity embedding u_v.
- Position unit: each of the ``walks_per_node`` walks of ``walk_length`` steps from v is a
  token sequence, token t = Linear([r_{w_t}, u_{w_t}]) + a learned step embedding (the
  visited nodes' identity embeddings enter here: the two embeddings are computed jointly);
  one transformer encoder layer reads the sequence, its tokens are averaged, and an
  attention pooling over the walks with a learned query gives the position embedding z_v.

Joint objective (one optimiser, :func:`sciml.train.fit`, on batches of ``batch_size``
nodes; with the co-occurrence term on, of ``batch_size`` pairs and their negatives)::

    L = position_weight * L_pos + identity_weight * L_id + walk_weight * L_walk
    L_pos  = mean over nodes |W_r z_v - r~_v|^2 / dim(r)
    L_id   = mean over nodes [ CE(p_v, softmax(W_a u_v)) + |W_s u_v - s_v|^2 / dim(s) ]
    L_walk = mean over (v, c) [ -log sigma(z_v . z_c / sqrt(d))
                                - sum_{k<negatives} log sigma(-z_v . z_n / sqrt(d)) ]

r~ is r with the training graph's column means and scales (kept for :meth:`IRWE.transform`;
without it the sparse one-step columns dominate the squared error). The position unit
reads the visited nodes' statistics and identity embeddings along the walks and must give
back the start node's own statistics: the walk-based smoothing that keeps community
information; its gradient also trains the identity unit through the tokens, which is what
makes the two embeddings a joint optimisation and not two separate ones. L_id asks u_v to
keep the AW distribution and the degree statistics (the role information).

L_walk is DeepWalk's co-occurrence term ((v, c): a start node and a node its walk visits
within ``window`` steps; negatives drawn with probability proportional to deg^0.75, as in
word2vec), off by default (``walk_weight=0``): measured on the planted partition of
``benches/bench_graph_irwe.py`` (seed 0, dim 64, 150-200 steps) it lowered the community
accuracy of the position embeddings from 0.905 (off) to 0.815 (weight 0.1), 0.79 (0.3) and
0.78 (1; 0.77 with cosine similarity), also with the identity tokens removed. Its target is
proximity at the scale of ``window`` steps, finer than a community, and the encoder, a
function of the anchor statistics, can only follow it by resolving which anchors are near.

Inference. :meth:`IRWE.fit_transform` embeds the training graph (with its training walks);
:meth:`IRWE.transform` computes the statistics and walks on any graph (same seed, so the
training graph gives the same embeddings again) and runs the trained units: nodes unseen in
training and whole new graphs are embedded without retraining.

Random walks go along out-edges with probability proportional to the edge weight; a node
without out-edges keeps the walker (the walk repeats it). Walks are drawn step by step,
vectorised over all walks (no loop over nodes).
"""

from __future__ import annotations

import math
import os
from typing import Any, Literal, NamedTuple

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciml._checks import NotFittedError, check_int, check_real
from sciml.graph.backbone import Graph, as_numpy, is_networkx
from sciml.train import TrainConfig, fit

AWMode = Literal["auto", "exact", "sample"]
MAX_AW_LENGTH = 8
"""The longest anonymous walks (Bell(9) = 21147 types)."""


class IRWEEmbeddings(NamedTuple):
    """The two embeddings of a graph's nodes, rows in the graph's node order:
    ``identity``, float32 (n, dim), structural roles (automorphic nodes alike), and
    ``position``, float32 (n, dim), places in the graph (nearby nodes alike)."""

    identity: np.ndarray
    position: np.ndarray


# --- graphs ------------------------------------------------------------------------------


def as_graph(graph: Any, num_nodes: int | None = None) -> Graph:
    """``graph`` as a :class:`sciml.graph.Graph`.

    Args:
        graph: an ``edge_index`` (2, E) integer array or tensor (every undirected edge in
            both directions; n = ``num_nodes`` or max id + 1); a scipy.sparse adjacency
            (n, n); a networkx graph; ``(edge_index, num_nodes)``; or a Graph.
        num_nodes: n for a bare ``edge_index``.

    Raises:
        ValueError: ids out of [0, num_nodes), a non-square matrix, NaN/inf/negative weights.
        TypeError: another type.
    """
    if isinstance(graph, Graph) or sp.issparse(graph) or is_networkx(graph):
        return Graph.from_any(graph)
    if isinstance(graph, tuple):
        return Graph.from_any(graph)
    if isinstance(graph, np.ndarray | Tensor | list):
        ei = as_numpy(graph, "edge_index")
        if ei.ndim != 2 or ei.shape[0] != 2:
            raise ValueError(f"edge_index must have shape (2, E), got {ei.shape}")
        if num_nodes is None:
            if ei.size and not np.issubdtype(ei.dtype, np.integer):
                raise TypeError(f"edge_index must hold integers, got dtype {ei.dtype}")
            if ei.size and ei.min() < 0:
                raise ValueError(f"edge_index values must be >= 0, got {ei.min()}")
            num_nodes = int(ei.max()) + 1 if ei.size else 0
        return Graph.from_edge_index(ei, num_nodes=num_nodes)
    raise TypeError(
        "graph must be an edge_index (2, E), a scipy.sparse matrix, a networkx graph or "
        f"(edge_index, num_nodes), got {type(graph).__name__}"
    )


def transition_matrix(s: sp.csr_array) -> sp.csr_array:
    """P = D^-1 S (float64), zero rows for nodes without out-edges."""
    deg = np.asarray(s.sum(axis=1), dtype=np.float64).ravel()
    inv = np.zeros_like(deg)
    inv[deg > 0] = 1.0 / deg[deg > 0]
    return sp.csr_array(sp.diags_array(inv) @ sp.csr_array(s, dtype=np.float64))


# --- random walks and anonymous walks ------------------------------------------------------


def random_walks(
    s: sp.csr_array, starts: np.ndarray, length: int, rng: np.random.Generator
) -> np.ndarray:
    """Random walks of ``length`` steps from ``starts`` along the out-edges of S.

    Each step moves every walk at once: the next node is drawn among the current node's
    out-neighbours with probability proportional to the edge weight (uniform when all
    weights are equal); a node without out-edges keeps the walker.

    Args:
        s: canonical csr adjacency (n, n), weights > 0.
        starts: (m,) int start rows.
        length: l >= 0 steps.
        rng: numpy generator (l draws of m uniforms).

    Returns:
        int64 (m, l + 1), column 0 = starts.
    """
    starts = np.asarray(starts, dtype=np.int64)
    walks = np.empty((starts.size, length + 1), dtype=np.int64)
    walks[:, 0] = starts
    indptr = s.indptr.astype(np.int64)
    indices = s.indices.astype(np.int64)
    deg = np.diff(indptr)
    weighted = s.data.size > 0 and not np.all(s.data == s.data[0])
    cum = np.cumsum(s.data, dtype=np.float64) if weighted else None
    cur = starts
    for t in range(1, length + 1):
        u = rng.random(cur.size)
        lo, d = indptr[cur], deg[cur]
        has = d > 0
        pos = lo.copy()
        if weighted:
            assert cum is not None
            hi = lo + d
            base = np.where(lo > 0, cum[np.maximum(lo - 1, 0)], 0.0)
            total = cum[np.maximum(hi - 1, 0)] - base
            pos = np.searchsorted(cum, base + u * total, side="right")
            pos = np.clip(pos, lo, np.maximum(hi - 1, lo))
        else:
            pos = lo + np.minimum((u * d).astype(np.int64), np.maximum(d - 1, 0))
        nxt = np.where(has, indices[np.minimum(pos, max(indices.size - 1, 0))], cur)
        walks[:, t] = nxt
        cur = nxt
    return walks


def anonymize(walks: np.ndarray) -> np.ndarray:
    """Anonymous walks: each node replaced by the rank of its first occurrence (from 0).

    Args:
        walks: (m, L) node ids.

    Returns:
        int64 (m, L); e.g. (5, 3, 5, 7, 3) -> (0, 1, 0, 2, 1).
    """
    w = np.asarray(walks)
    if w.ndim != 2:
        raise ValueError(f"walks must have shape (m, L), got {w.shape}")
    m, length = w.shape
    if length == 0:
        return np.zeros((m, 0), dtype=np.int64)
    eq = w[:, :, None] == w[:, None, :]  # (m, L, L): eq[i, t, j] = (w_t == w_j)
    first = np.argmax(eq, axis=2)  # first j with w_j == w_t
    is_new = first == np.arange(length)
    rank = np.cumsum(is_new, axis=1) - 1  # rank of each new node among the new ones
    return np.take_along_axis(rank, first, axis=1).astype(np.int64)


def anonymous_walk_types(length: int) -> np.ndarray:
    """Every anonymous walk of ``length`` steps (restricted growth strings of length + 1),
    in lexicographic order.

    Returns:
        int64 (Bell(length + 1), length + 1).
    """
    length = check_int(length, "length", 0)
    if length > MAX_AW_LENGTH:
        raise ValueError(f"length must be <= {MAX_AW_LENGTH}, got {length}")
    seqs = np.zeros((1, 1), dtype=np.int64)
    for _ in range(length):
        top = seqs.max(axis=1) + 2  # next symbol in 0..max+1
        rows = np.repeat(np.arange(seqs.shape[0]), top)
        nxt = np.arange(rows.size) - np.repeat(np.cumsum(top) - top, top)
        seqs = np.hstack([seqs[rows], nxt[:, None]])
    return seqs


def _codes(seqs: np.ndarray) -> np.ndarray:
    """Base-L integer codes of (m, L) sequences with symbols < L."""
    length = seqs.shape[1]
    return seqs @ (length ** np.arange(length - 1, -1, -1, dtype=np.int64))


def anonymous_walk_ids(anon: np.ndarray, types: np.ndarray) -> np.ndarray:
    """Row indices in ``types`` (:func:`anonymous_walk_types`) of anonymous walks (m, L)."""
    table = _codes(types)  # lexicographic order of the strings = increasing codes
    return np.searchsorted(table, _codes(anon)).astype(np.int64)


def walk_count(s: sp.csr_array, length: int) -> float:
    """The number of walks of ``length`` steps in the graph (1^T A^l 1, A = support of S;
    a node without out-edges counts one walk that stays)."""
    a = sp.csr_array((np.ones(s.nnz), s.indices, s.indptr), shape=s.shape)
    x = np.ones(s.shape[0])
    for _ in range(length):
        y = a @ x
        x = np.where(np.diff(s.indptr) > 0, y, x)
    return float(x.sum())


def exact_walks(s: sp.csr_array, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Every walk of ``length`` steps from every node, with its probability.

    The frontier of partial walks grows by all out-neighbours of each walk's last node at
    once (a node without out-edges keeps the walker, probability 1).

    Returns:
        ``(walks, prob)``: int64 (m, length + 1) and float64 (m,); the probabilities of
        the walks from one node sum to 1.
    """
    p = transition_matrix(s)
    indptr = p.indptr.astype(np.int64)
    deg = np.diff(indptr)
    n = s.shape[0]
    walks = np.arange(n, dtype=np.int64)[:, None]
    prob = np.ones(n)
    for _ in range(length):
        last = walks[:, -1]
        k = np.maximum(deg[last], 1)
        rows = np.repeat(np.arange(last.size), k)
        offset = np.arange(rows.size) - np.repeat(np.cumsum(k) - k, k)
        pos = indptr[last][rows] + offset
        stays = deg[last][rows] == 0
        safe = np.minimum(pos, max(p.indices.size - 1, 0))
        nxt = np.where(stays, last[rows], p.indices[safe])
        step = np.where(stays, 1.0, p.data[safe] if p.data.size else 1.0)
        walks = np.hstack([walks[rows], nxt[:, None]])
        prob = prob[rows] * step
    return walks, prob


def aw_distribution(
    s: sp.csr_array,
    length: int,
    mode: AWMode = "auto",
    walks_per_node: int = 256,
    max_exact_walks: int = 2**20,
    rng: np.random.Generator | None = None,
    chunk: int = 2**20,
) -> tuple[np.ndarray, bool]:
    """Each node's distribution over the anonymous walks of ``length`` steps from it.

    Args:
        s: canonical csr adjacency (n, n).
        length: AW steps l (1..8).
        mode: ``"exact"`` enumerates every walk; ``"sample"`` draws ``walks_per_node``
            walks per node; ``"auto"``: exact when the graph has at most
            ``max_exact_walks`` walks of l steps.
        walks_per_node: samples per node (``"sample"``).
        max_exact_walks: the limit of ``"auto"``.
        rng: numpy generator for sampling.
        chunk: walks drawn at a time.

    Returns:
        ``(dist, exact)``: float32 (n, Bell(l + 1)) with rows summing to 1, columns in
        :func:`anonymous_walk_types` order; whether it is exact.
    """
    types = anonymous_walk_types(length)
    n, k = s.shape[0], types.shape[0]
    exact = mode == "exact" or (mode == "auto" and walk_count(s, length) <= max_exact_walks)
    dist = np.zeros((n, k), dtype=np.float64)
    if exact:
        walks, prob = exact_walks(s, length)
        ids = anonymous_walk_ids(anonymize(walks), types)
        np.add.at(dist, (walks[:, 0], ids), prob)
    else:
        rng = rng if rng is not None else np.random.default_rng(0)
        per = max(1, chunk // walks_per_node)
        for lo in range(0, n, per):
            starts = np.repeat(np.arange(lo, min(n, lo + per)), walks_per_node)
            walks = random_walks(s, starts, length, rng)
            ids = anonymous_walk_ids(anonymize(walks), types)
            np.add.at(dist, (starts, ids), 1.0 / walks_per_node)
    return dist.astype(np.float32), exact


def degree_statistics(p: sp.csr_array, degree: np.ndarray, steps: int) -> np.ndarray:
    """(P^t log(1 + deg))_v for t = 0..steps: the expected log-degree along the walk.

    Returns:
        float32 (n, steps + 1).
    """
    x = np.log1p(degree)
    out = [x]
    for _ in range(steps):
        x = p @ x
        out.append(x)
    return np.stack(out, axis=1).astype(np.float32)


def anchor_landing(
    p: sp.csr_array, degree: np.ndarray, anchors: np.ndarray, steps: int, n_anchors: int
) -> np.ndarray:
    """log(1 + P^t[v, a] / pi_a) for t = 1..steps and each anchor a (-1: a zero column).

    Returns:
        float32 (n, steps * n_anchors), step-major.
    """
    n = p.shape[0]
    ok = anchors >= 0
    vol = float(degree.sum())
    x = np.zeros((n, n_anchors))
    x[anchors[ok], np.flatnonzero(ok)] = 1.0
    pi = np.ones(n_anchors)
    if vol > 0:
        pi[ok] = np.maximum(degree[anchors[ok]], 1e-12) / vol
    out = []
    for _ in range(steps):
        x = p @ x
        out.append(np.log1p(x / pi))
    return np.concatenate(out, axis=1).astype(np.float32)


# --- the network ---------------------------------------------------------------------------


class IdentityUnit(nn.Module):
    """Attention over a node's anonymous-walk tokens, weighted by its AW distribution.

    Input: AW distributions (m, K) and degree statistics (m, S); output (m, d).
    """

    def __init__(self, n_types: int, n_stats: int, dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.types = nn.Parameter(torch.randn(n_types, dim) * dim**-0.5)
        self.stats = nn.Sequential(nn.Linear(n_stats, dim), nn.GELU(), nn.Linear(dim, dim))
        self.q, self.k, self.v, self.o = (nn.Linear(dim, dim) for _ in range(4))
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, aw: Tensor, stats: Tensor) -> Tensor:
        m, (k, d), h = aw.shape[0], self.types.shape, self.heads
        h0 = aw @ self.types + self.stats(stats)
        q = self.q(h0).view(m, h, d // h)
        key = self.k(self.types).view(k, h, d // h)
        val = self.v(self.types).view(k, h, d // h)
        logits = torch.einsum("mhe,khe->mhk", q, key) / math.sqrt(d // h)
        logits = logits + torch.log(aw).unsqueeze(1)  # -inf for AW types never seen
        att = torch.softmax(logits, dim=-1)
        out = torch.einsum("mhk,khe->mhe", att, val).reshape(m, d)
        x = self.norm1(h0 + self.o(out))
        return self.norm2(x + self.ff(x))


class PositionUnit(nn.Module):
    """A transformer layer over each walk's tokens, then attention pooling over the walks.

    Input: token features (m, R, L, F) (F = position statistics + identity dim); output
    (m, d).
    """

    def __init__(self, n_features: int, dim: int, heads: int, length: int) -> None:
        super().__init__()
        self.inp = nn.Linear(n_features, dim)
        self.step = nn.Parameter(torch.randn(length, dim) * 0.02)
        self.layer = nn.TransformerEncoderLayer(
            dim, heads, 2 * dim, dropout=0.0, batch_first=True, norm_first=True
        )
        self.pool = nn.Linear(dim, dim)
        self.query = nn.Parameter(torch.randn(dim) * dim**-0.5)
        self.out = nn.Linear(dim, dim)

    def forward(self, tokens: Tensor) -> Tensor:
        m, r, length, _ = tokens.shape
        x = self.inp(tokens) + self.step[:length]
        x = self.layer(x.reshape(m * r, length, -1)).mean(dim=1).reshape(m, r, -1)
        att = torch.softmax(self.pool(x) @ self.query / math.sqrt(x.shape[-1]), dim=1)
        return self.out((att.unsqueeze(-1) * x).sum(dim=1))


class IRWENetwork(nn.Module):
    """The identity and position units with the identity decoders of the joint loss."""

    def __init__(
        self, n_types: int, n_stats: int, n_pos: int, dim: int, heads: int, length: int
    ) -> None:
        super().__init__()
        self.identity = IdentityUnit(n_types, n_stats, dim, heads)
        self.position = PositionUnit(n_pos + dim, dim, heads, length)
        self.decode_aw = nn.Linear(dim, n_types)
        self.decode_stats = nn.Linear(dim, n_stats)
        self.decode_pos = nn.Linear(dim, n_pos)

    def embed(
        self, nodes: Tensor, data: dict[str, Tensor]
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Identity and position embeddings of ``nodes`` (m,) given the graph's tensors.

        Returns:
            ``(identity (m, d), position (m, d), visited (v,), identity of visited (v, d))``.
        """
        walks = data["walks"][nodes]  # (m, R, L)
        visited, inverse = torch.unique(torch.cat([nodes, walks.reshape(-1)]), return_inverse=True)
        ident = self.identity(data["aw"][visited], data["stats"][visited])
        tok_id = ident[inverse[nodes.numel() :]].reshape(*walks.shape, -1)
        tokens = torch.cat([data["pos"][walks], tok_id], dim=-1)
        return ident[inverse[: nodes.numel()]], self.position(tokens), visited, ident


def _loss(
    net: IRWENetwork,
    batch: dict[str, Tensor],
    data: dict[str, Tensor],
    identity_weight: float,
    position_weight: float,
    walk_weight: float,
) -> Tensor:
    """The joint loss on a batch: ``{"pairs": (b, 2), "neg": (b, k)}`` co-occurrence pairs
    and negatives, or ``{"nodes": (b,)}`` when the co-occurrence term is off."""
    if "pairs" in batch:
        pairs, neg = batch["pairs"], batch["neg"]
        b, k = neg.shape
        flat = torch.cat([pairs.reshape(-1), neg.reshape(-1)])
    else:
        flat = batch["nodes"]
    nodes, inverse = torch.unique(flat, return_inverse=True)
    _, z, visited, ident = net.embed(nodes, data)
    loss = position_weight * F.mse_loss(net.decode_pos(z), data["pos"][nodes])
    aw, stats = data["aw"][visited], data["stats"][visited]
    ce = -(aw * torch.log_softmax(net.decode_aw(ident), dim=-1)).sum(-1).mean()
    loss = loss + identity_weight * (ce + F.mse_loss(net.decode_stats(ident), stats))
    if "pairs" in batch:
        zc, zx = z[inverse[: b * 2]].view(b, 2, -1).unbind(1)
        zn = z[inverse[b * 2 :]].view(b, k, -1)
        scale = zc.shape[-1] ** -0.5
        pos = F.softplus(-scale * (zc * zx).sum(-1)).mean()
        negative = F.softplus(scale * torch.einsum("bd,bkd->bk", zc, zn)).sum(-1).mean()
        loss = loss + walk_weight * (pos + negative)
    return loss


# --- the estimator ---------------------------------------------------------------------------


class IRWE:
    """Inductive identity and position embeddings from random walks (module docstring).

    Args:
        dim: embedding dimension d (each embedding), divisible by ``heads``.
        heads: attention heads of both units.
        walk_length: steps of the walks the position unit reads and the co-occurrence
            pairs come from.
        walks_per_node: such walks per node (R).
        window: a start node's contexts are the nodes its walks visit at steps 1..window.
        aw_length: steps of the anonymous walks (1..8; Bell(aw_length + 1) AW types).
        aw_mode: ``"auto"``, ``"exact"`` or ``"sample"`` (:func:`aw_distribution`).
        aw_walks: sampled walks per node for the AW statistics when not exact.
        max_exact_walks: ``"auto"`` enumerates every walk up to this many in the graph.
        deg_steps: steps of the degree statistics (t = 0..deg_steps).
        n_anchors: anchors of the position statistics.
        pos_steps: steps of the anchor landing probabilities (t = 1..pos_steps).
        steps, batch_size, negatives, lr, weight_decay: optimisation (``batch_size``
            nodes per step, or with ``walk_weight > 0`` that many co-occurrence pairs with
            ``negatives`` negatives each; AdamW under warmup + cosine,
            :func:`sciml.train.fit`).
        identity_weight: weight of the identity term of the joint loss.
        position_weight: weight of the position reconstruction term.
        walk_weight: weight of the co-occurrence term (0: off, the default; see the
            module docstring for why).
        seed: seeds the walks and the weights.
        progress: show the training bar.
        device: torch device.

    The attributes are set by :meth:`fit`.

    Attributes:
        network_: the trained :class:`IRWENetwork`.
        result_: :class:`sciml.train.TrainResult`.
        anchors_: the anchor labels (node ids of the training graph).
        aw_types_: int64 (K, aw_length + 1) the AW types (columns of the statistic).
        embeddings_: :class:`IRWEEmbeddings` of the training graph.
        nodes_: the training graph's node labels in row order.
        pos_mean_, pos_scale_: float32 (n_anchors * pos_steps,) the standardisation of the
            position statistics (from the training graph).

    Example:
        >>> import networkx as nx
        >>> ident, pos = IRWE(dim=16, steps=20).fit_transform(nx.karate_club_graph())
        >>> ident.shape, pos.shape
        ((34, 16), (34, 16))
    """

    def __init__(
        self,
        dim: int = 64,
        heads: int = 4,
        walk_length: int = 6,
        walks_per_node: int = 4,
        window: int = 3,
        aw_length: int = 5,
        aw_mode: AWMode = "auto",
        aw_walks: int = 256,
        max_exact_walks: int = 2**20,
        deg_steps: int = 3,
        n_anchors: int = 32,
        pos_steps: int = 4,
        steps: int = 300,
        batch_size: int = 128,
        negatives: int = 5,
        lr: float = 3e-3,
        weight_decay: float = 0.0,
        identity_weight: float = 1.0,
        position_weight: float = 1.0,
        walk_weight: float = 0.0,
        seed: int = 0,
        progress: bool = False,
        device: str | torch.device = "cpu",
    ) -> None:
        self.dim = dim
        self.heads = heads
        self.walk_length = walk_length
        self.walks_per_node = walks_per_node
        self.window = window
        self.aw_length = aw_length
        self.aw_mode = aw_mode
        self.aw_walks = aw_walks
        self.max_exact_walks = max_exact_walks
        self.deg_steps = deg_steps
        self.n_anchors = n_anchors
        self.pos_steps = pos_steps
        self.steps = steps
        self.batch_size = batch_size
        self.negatives = negatives
        self.lr = lr
        self.weight_decay = weight_decay
        self.identity_weight = identity_weight
        self.position_weight = position_weight
        self.walk_weight = walk_weight
        self.seed = seed
        self.progress = progress
        self.device = device

    def _check(self) -> None:
        check_int(self.dim, "dim", 1)
        check_int(self.heads, "heads", 1)
        if self.dim % self.heads:
            raise ValueError(f"dim = {self.dim} must be divisible by heads = {self.heads}")
        check_int(self.walk_length, "walk_length", 1)
        check_int(self.walks_per_node, "walks_per_node", 1)
        check_int(self.window, "window", 1)
        if self.window > self.walk_length:
            raise ValueError(
                f"window must be <= walk_length = {self.walk_length}, got {self.window}"
            )
        check_int(self.aw_length, "aw_length", 1)
        if self.aw_length > MAX_AW_LENGTH:
            raise ValueError(f"aw_length must be <= {MAX_AW_LENGTH}, got {self.aw_length}")
        if self.aw_mode not in ("auto", "exact", "sample"):
            raise ValueError(f"aw_mode must be 'auto', 'exact' or 'sample', got {self.aw_mode!r}")
        check_int(self.aw_walks, "aw_walks", 1)
        check_int(self.max_exact_walks, "max_exact_walks", 0)
        check_int(self.deg_steps, "deg_steps", 0)
        check_int(self.n_anchors, "n_anchors", 1)
        check_int(self.pos_steps, "pos_steps", 1)
        check_int(self.steps, "steps", 1)
        check_int(self.batch_size, "batch_size", 1)
        check_int(self.negatives, "negatives", 1)
        check_real(self.lr, "lr", 0.0, strict=True)
        check_real(self.weight_decay, "weight_decay", 0.0)
        check_real(self.identity_weight, "identity_weight", 0.0)
        check_real(self.position_weight, "position_weight", 0.0)
        check_real(self.walk_weight, "walk_weight", 0.0)
        check_int(self.seed, "seed", 0)

    # --- statistics ----------------------------------------------------------------------

    def _statistics(self, g: Graph, anchors: np.ndarray) -> dict[str, np.ndarray]:
        """The inductive inputs of graph ``g``: AW distributions, degree statistics, anchor
        landing statistics and the position walks."""
        s = g.adjacency
        n = g.num_nodes
        p = transition_matrix(s)
        degree = np.asarray(s.sum(axis=1), dtype=np.float64).ravel()
        aw_rng, walk_rng = (np.random.default_rng([self.seed, i]) for i in (1, 2))
        aw, _ = aw_distribution(
            s, self.aw_length, self.aw_mode, self.aw_walks, self.max_exact_walks, aw_rng
        )
        starts = np.repeat(np.arange(n), self.walks_per_node)
        walks = random_walks(s, starts, self.walk_length, walk_rng)
        return {
            "aw": aw,
            "stats": degree_statistics(p, degree, self.deg_steps),
            "pos": anchor_landing(p, degree, anchors, self.pos_steps, self.n_anchors),
            "walks": walks.reshape(n, self.walks_per_node, self.walk_length + 1),
        }

    def _top_degree(self, g: Graph) -> np.ndarray:
        """Rows of the n_anchors largest-degree nodes (ties: lower row), -1 padded."""
        degree = np.asarray(g.adjacency.sum(axis=1), dtype=np.float64).ravel()
        order = np.lexsort((np.arange(g.num_nodes), -degree))[: self.n_anchors]
        out = np.full(self.n_anchors, -1, dtype=np.int64)
        out[: order.size] = order
        return out

    def _anchor_rows(self, g: Graph) -> np.ndarray:
        """The training anchors' rows in ``g`` (-1 where absent); the graph's own
        largest-degree nodes when none is present."""
        lookup = {label: i for i, label in enumerate(g._label_list)}
        rows = np.array([lookup.get(a, -1) for a in self.anchors_], dtype=np.int64)
        rows = np.concatenate([rows, np.full(self.n_anchors - rows.size, -1, dtype=np.int64)])
        return rows if (rows >= 0).any() else self._top_degree(g)

    def _standardize(self, pos: np.ndarray) -> np.ndarray:
        """Position statistics with the training graph's column means and scales."""
        return ((pos - self.pos_mean_) / self.pos_scale_).astype(np.float32)

    @staticmethod
    def _tensors(stats: dict[str, np.ndarray], device: torch.device) -> dict[str, Tensor]:
        return {k: torch.from_numpy(np.ascontiguousarray(v)).to(device) for k, v in stats.items()}

    # --- fitting -------------------------------------------------------------------------

    def fit(
        self,
        graph: Any,
        num_nodes: int | None = None,
        *,
        checkpoint_dir: str | os.PathLike | None = None,
        resume: bool = True,
    ) -> IRWE:
        """Trains both units on ``graph`` (see :func:`as_graph` for the accepted types).

        Args:
            graph: the training graph.
            num_nodes: n for a bare ``edge_index``.
            checkpoint_dir, resume: checkpoints of :func:`sciml.train.fit`.

        Returns:
            self, with ``embeddings_`` of the training graph.

        Raises:
            ValueError: bad settings; a graph without nodes or without edges.
        """
        self._check()
        g = as_graph(graph, num_nodes)
        n = g.num_nodes
        if n == 0:
            raise ValueError("graph has no nodes")
        if g.num_edges == 0:
            raise ValueError("graph has no edges: random walks cannot leave their start node")
        device = torch.device(self.device)
        anchor_rows = self._top_degree(g)
        labels = g._label_list
        self.anchors_ = [labels[i] for i in anchor_rows if i >= 0]
        stats = self._statistics(g, anchor_rows)
        self.pos_mean_ = stats["pos"].mean(axis=0)
        self.pos_scale_ = np.maximum(stats["pos"].std(axis=0), 1e-6).astype(np.float32)
        stats["pos"] = self._standardize(stats["pos"])
        self.aw_types_ = anonymous_walk_types(self.aw_length)
        data = self._tensors(stats, device)

        walks = stats["walks"]
        centre = np.repeat(walks[:, :, 0:1], self.window, axis=2)
        pairs = np.stack([centre, walks[:, :, 1 : self.window + 1]], axis=-1).reshape(-1, 2)
        pairs_t = torch.from_numpy(pairs)
        degree = np.asarray(g.adjacency.sum(axis=1), dtype=np.float64).ravel()
        noise = torch.from_numpy(degree**0.75 + 1e-12)
        b, k = self.batch_size, self.negatives

        def sample(gen: torch.Generator) -> dict[str, Tensor]:
            if not self.walk_weight:
                return {"nodes": torch.randint(n, (b,), generator=gen)}
            idx = torch.randint(pairs_t.shape[0], (b,), generator=gen)
            neg = torch.multinomial(noise, b * k, replacement=True, generator=gen).view(b, k)
            return {"pairs": pairs_t[idx], "neg": neg}

        torch.manual_seed(self.seed)
        net = IRWENetwork(
            self.aw_types_.shape[0],
            stats["stats"].shape[1],
            stats["pos"].shape[1],
            self.dim,
            self.heads,
            self.walk_length + 1,
        )
        config = TrainConfig(
            steps=self.steps,
            lr=self.lr,
            weight_decay=self.weight_decay,
            warmup_steps=self.steps // 10,
            grad_clip=1.0,
            checkpoint_every=max(1, self.steps),
            log_every=max(1, min(50, self.steps)),
            seed=self.seed,
            progress=self.progress,
        )
        self.result_ = fit(
            net,
            sample,
            lambda model, batch: _loss(
                model, batch, data, self.identity_weight, self.position_weight, self.walk_weight
            ),
            config,
            out_dir=checkpoint_dir,
            resume=resume,
            device=device,
            extra={"class": "IRWE", "dim": self.dim},
        )
        self.network_ = net
        self.nodes_ = g.node_ids
        self.embeddings_ = self._encode(data, n)
        return self

    def _encode(self, data: dict[str, Tensor], n: int, chunk: int = 1024) -> IRWEEmbeddings:
        net = self.network_
        net.eval()
        ident, pos = [], []
        with torch.no_grad():
            for lo in range(0, n, chunk):
                nodes = torch.arange(lo, min(n, lo + chunk), device=data["aw"].device)
                u, z, _, _ = net.embed(nodes, data)
                ident.append(u.float().cpu())
                pos.append(z.float().cpu())
        return IRWEEmbeddings(torch.cat(ident).numpy(), torch.cat(pos).numpy())

    def fit_transform(self, graph: Any, num_nodes: int | None = None) -> IRWEEmbeddings:
        """Trains on ``graph`` and returns its embeddings ``(identity, position)``, each
        float32 (n, dim), rows in the graph's node order."""
        return self.fit(graph, num_nodes).embeddings_

    def transform(self, graph: Any, num_nodes: int | None = None) -> IRWEEmbeddings:
        """Embeds the nodes of any graph with the trained units (inductive inference).

        New nodes of the training graph and whole new graphs need no retraining: the
        statistics are computed on ``graph`` (anchors as in the module docstring), with
        the same seeds as in training, so the training graph gets its training
        embeddings back.

        Returns:
            :class:`IRWEEmbeddings`, each float32 (n, dim), rows in ``graph``'s node order.

        Raises:
            NotFittedError: before :meth:`fit`.
            ValueError, TypeError: a bad graph.
        """
        if not hasattr(self, "network_"):
            raise NotFittedError("this IRWE is not fitted yet: call fit(graph) first")
        g = as_graph(graph, num_nodes)
        if g.num_nodes == 0:
            z = np.zeros((0, self.dim), dtype=np.float32)
            return IRWEEmbeddings(z, z.copy())
        device = next(self.network_.parameters()).device
        stats = self._statistics(g, self._anchor_rows(g))
        stats["pos"] = self._standardize(stats["pos"])
        return self._encode(self._tensors(stats, device), g.num_nodes)


__all__ = [
    "IRWE",
    "IRWEEmbeddings",
    "IRWENetwork",
    "IdentityUnit",
    "PositionUnit",
    "anchor_landing",
    "anonymize",
    "anonymous_walk_ids",
    "anonymous_walk_types",
    "as_graph",
    "aw_distribution",
    "degree_statistics",
    "exact_walks",
    "random_walks",
    "walk_count",
]
