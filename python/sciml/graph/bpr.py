"""Learned recommenders trained with the BPR loss: the estimator shared by LightGCN and
SheafRec (sampling, training with early stopping and checkpoints, ranking).

A model is an ``nn.Module`` over the user-item graph (n_users + n_items nodes, users
first) whose ``forward()`` returns ``(ego, out)``: the free embeddings (N, d) and the
propagated ones (N, d). Training follows LightGCN's recipe (He et al., SIGIR 2020), which
Sheaf4Rec's code also uses:

- a micro-batch draws ``batch_size`` users uniformly among those with training items,
  one of each user's items uniformly (positive) and one item the user has not interacted
  with uniformly (negative);
- loss ``mean softplus(s_un - s_up) + l2 * (|e_u|^2 + |e_p|^2 + |e_n|^2) / (2 batch)``
  with ``s = <out_u, out_i>`` and ``e`` the ego embeddings of the batch;
- an epoch is ``ceil(nnz / batch_size)`` steps; AdamW (no decoupled weight decay) under
  sciml's warmup + cosine schedule (:mod:`sciml.train`).

Early stopping: a share of each user's training interactions is held out
(``validation_fraction``); the graph the model propagates over during training leaves
them out, Recall@k on them is scored every ``validate_every`` epochs, and the best
weights are kept. After training, the final embeddings are propagated over the full
training graph (held-out interactions included), so every model of the comparison sees
the same interactions at prediction time.

Ranking: scores descending, ties by the lower item id; with ``exclude_seen`` the training
items come only when a user has fewer than k others, at the end, lower ids first (as
:class:`sciml.graph.GTE`).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch
from torch import Tensor, nn

from sciml._checks import NotFittedError, check_int, check_real
from sciml.graph.backbone import Graph
from sciml.graph.gte import check_interactions, check_top_k, check_users
from sciml.graph.metrics import recall_at_k
from sciml.train import TrainConfig, fit

RANK_BLOCK = 1024
"""Users scored together when ranking."""


@dataclass
class BPRSettings:
    """Training settings of a BPR recommender (see the module docstring).

    Args:
        epochs: the most epochs to train.
        batch_size: (user, positive, negative) triples per step.
        lr: peak learning rate.
        l2: weight of the L2 penalty on the batch's ego embeddings.
        weight_decay: AdamW's decoupled weight decay on the network's other weights (the
            embeddings are regularised by ``l2`` only).
        validation_fraction: share of each user's interactions held out for early
            stopping (0: no validation, train for ``epochs``).
        validate_every: epochs between validations.
        patience: validations without improvement before stopping (None: never).
        k: the list length of the validation Recall@k.
        random_state: seeds the weights, the split and every batch.
        progress: show a progress bar.
    """

    epochs: int = 200
    batch_size: int = 2048
    lr: float = 1e-3
    l2: float = 1e-4
    weight_decay: float = 0.0
    validation_fraction: float = 0.1
    validate_every: int = 5
    patience: int | None = 5
    k: int = 20
    random_state: int = 0
    progress: bool = True

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size", "validate_every", "k"):
            check_int(getattr(self, name), name, 1)
        if self.patience is not None:
            check_int(self.patience, "patience", 1)
        check_int(self.random_state, "random_state", 0)
        check_real(self.lr, "lr", 0, strict=True)
        for name in ("l2", "weight_decay"):
            check_real(getattr(self, name), name, 0)
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}"
            )


def bipartite_graph(interactions: sp.csr_array) -> Graph:
    """The user-item graph [[0, R], [R^T, 0]] on n_users + n_items nodes (users first),
    with binary weights."""
    r = sp.csr_array(interactions, dtype=np.float64, copy=True)
    r.data[:] = 1.0
    return Graph(sp.csr_array(sp.bmat([[None, r], [r.T, None]], format="csr")))


class EmbeddingNetwork(nn.Module):
    """Base of the BPR networks: free node embeddings E_0 (N, d), N(0, 0.1^2) as in
    LightGCN's code, exempt from weight decay (the BPR loss's L2 term regularises them).

    Subclasses implement :meth:`set_graph` (called with the training graph at
    construction and with the full graph after training) and ``forward() -> (E_0, E)``.
    """

    def __init__(self, graph: Graph, dim: int):
        super().__init__()
        self.embedding = nn.Parameter(torch.randn(graph.num_nodes, dim) * 0.1)

    def no_weight_decay(self) -> set[str]:
        return {"embedding"}

    def check_graph(self, graph: Graph) -> None:
        """Raises ValueError unless ``graph`` has one node per embedding row."""
        if graph.num_nodes != self.embedding.shape[0]:
            raise ValueError(
                f"graph has {graph.num_nodes} nodes, the embeddings {self.embedding.shape[0]}"
            )

    def set_graph(self, graph: Graph) -> None:
        raise NotImplementedError


class NegativeSampler:
    """Draws BPR triples (user, positive item, negative item) from a training matrix."""

    def __init__(self, interactions: sp.csr_array, batch_size: int):
        r = interactions
        self.n_users, self.n_items = r.shape
        self.batch_size = batch_size
        self.indptr = r.indptr.astype(np.int64)
        self.indices = r.indices.astype(np.int64)
        self.degree = np.diff(self.indptr)
        self.active = np.flatnonzero(self.degree > 0)
        # sorted keys u * n_items + i of the training pairs, for membership tests
        rows = np.repeat(np.arange(self.n_users, dtype=np.int64), self.degree)
        self.keys = rows * self.n_items + self.indices

    def seen(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Whether each (user, item) pair is a training interaction."""
        q = users * self.n_items + items
        pos = np.minimum(np.searchsorted(self.keys, q), self.keys.size - 1)
        return self.keys[pos] == q

    def __call__(self, generator: torch.Generator) -> tuple[Tensor, Tensor, Tensor]:
        """(users, positives, negatives), three int64 tensors of ``batch_size``; item ids
        are offset by n_users (node ids of the user-item graph)."""
        b = self.batch_size
        pick = torch.randint(self.active.size, (b,), generator=generator).numpy()
        users = self.active[pick]
        offset = (
            torch.rand(b, generator=generator, dtype=torch.float64).numpy() * self.degree[users]
        ).astype(np.int64)
        pos = self.indices[self.indptr[users] + offset]
        neg = torch.randint(self.n_items, (b,), generator=generator).numpy()
        redo = self.seen(users, neg)
        for _ in range(20):  # rejection: a draw succeeds with probability 1 - deg(u) / m
            if not redo.any():
                break
            draw = torch.randint(self.n_items, (int(redo.sum()),), generator=generator).numpy()
            neg[redo] = draw
            redo[redo] = self.seen(users[redo], draw)
        for i in np.flatnonzero(redo):  # users with few unseen items: draw among those
            u = users[i]
            unseen = np.setdiff1d(
                np.arange(self.n_items), self.indices[self.indptr[u] : self.indptr[u + 1]]
            )
            neg[i] = unseen[int(torch.randint(unseen.size, (1,), generator=generator))]
        n = self.n_users
        return (
            torch.from_numpy(users),
            torch.from_numpy(pos + n),
            torch.from_numpy(neg + n),
        )


def bpr_loss(model: nn.Module, batch: tuple[Tensor, Tensor, Tensor], l2: float) -> Tensor:
    """BPR loss with L2 on the ego embeddings of the batch (LightGCN's form)."""
    users, pos, neg = batch
    ego, out = model()
    u, p, q = out[users], out[pos], out[neg]
    margin = (u * p).sum(1) - (u * q).sum(1)
    loss = nn.functional.softplus(-margin).mean()
    if l2 > 0:
        reg = ego[users].pow(2).sum() + ego[pos].pow(2).sum() + ego[neg].pow(2).sum()
        loss = loss + l2 * reg / (2 * users.numel())
    return loss


def rank_items(
    user_emb: np.ndarray | Tensor,
    item_emb: np.ndarray | Tensor,
    seen: sp.csr_array | None,
    k: int,
) -> np.ndarray:
    """Top-k items per user by dot product: (m, d) x (n_items, d) -> (m, k) int64.

    Scores descending, ties by the lower item id (a stable sort); the items of row i of
    ``seen`` (m, n_items) rank last, in id order.
    """
    users = torch.as_tensor(user_emb)
    items = torch.as_tensor(item_emb)
    out = np.empty((users.shape[0], k), dtype=np.int64)
    for start in range(0, users.shape[0], RANK_BLOCK):
        stop = min(start + RANK_BLOCK, users.shape[0])
        scores = users[start:stop] @ items.T
        if seen is not None:
            block = seen[start:stop]
            rows = np.repeat(np.arange(stop - start), np.diff(block.indptr))
            scores[
                torch.from_numpy(rows), torch.from_numpy(block.indices.astype(np.int64))
            ] = -math.inf
        order = torch.sort(scores, dim=1, descending=True, stable=True).indices[:, :k]
        out[start:stop] = order.numpy()
    return out


class BPRRecommender:
    """Base of the BPR-trained recommenders: ``fit`` / ``scores`` / ``recommend``.

    Subclasses set the defaults of :class:`BPRSettings` and build the network with
    :meth:`_network`.

    The attributes are set by :meth:`fit`.

    Attributes:
        user_embeddings_: (n_users, d) float32, propagated over the full training graph.
        item_embeddings_: (n_items, d) float32.
        interactions_: the training matrix, canonical csr_array (n_users, n_items).
        result_: the :class:`sciml.train.TrainResult` (loss record, validations, best
            step, whether it stopped early); steps count optimiser steps.
        steps_per_epoch_: optimiser steps per epoch.
    """

    defaults = BPRSettings()

    def __init__(self, embedding_dim: int = 64, layers: int = 3, **settings: Any) -> None:
        self.embedding_dim = check_int(embedding_dim, "embedding_dim", 1)
        self.layers = check_int(layers, "layers", 1)
        unknown = set(settings) - set(BPRSettings.__dataclass_fields__)
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}")
        self.settings = BPRSettings(**{**asdict(self.defaults), **settings})

    def _network(self, graph: Graph, n_users: int, n_items: int) -> EmbeddingNetwork:
        raise NotImplementedError

    def fit(
        self,
        interactions: Any,
        *,
        epochs: int | None = None,
        batch_size: int | None = None,
        random_state: int | None = None,
        checkpoint_dir: str | os.PathLike | None = None,
        resume: bool = True,
    ) -> BPRRecommender:
        """Trains on implicit feedback with BPR and early stopping.

        Args:
            interactions: scipy.sparse (n_users, n_items); nonzero entries are the
                interactions (weights are ignored).
            epochs, batch_size, random_state: override the settings given at construction.
            checkpoint_dir: write checkpoints there (and the best weights); with
                ``resume``, continue a run that was interrupted.
            resume: continue from ``checkpoint_dir`` when it holds a checkpoint.

        Returns:
            self.

        Raises:
            TypeError, ValueError: interactions that are not a non-empty users x items
                matrix of finite weights >= 0; a user who has interacted with every item
                (no negative to sample).
        """
        s = self.settings
        overrides = {"epochs": epochs, "batch_size": batch_size, "random_state": random_state}
        s = BPRSettings(**{**asdict(s), **{k: v for k, v in overrides.items() if v is not None}})
        r = check_interactions(interactions, np.float64)
        r.data[:] = 1.0
        n_users, n_items = r.shape
        full = np.flatnonzero(np.diff(r.indptr) >= n_items)
        if full.size:
            raise ValueError(
                f"user {int(full[0])} has interacted with all {n_items} items: "
                "BPR needs a negative item for every user"
            )
        from sciml.data.recsys import split_per_user

        train, held = (
            split_per_user(r, s.validation_fraction, seed=s.random_state)
            if s.validation_fraction > 0
            else (r, None)
        )
        sampler = NegativeSampler(train, s.batch_size)
        torch.manual_seed(s.random_state)
        model = self._network(bipartite_graph(train), n_users, n_items)
        steps_per_epoch = math.ceil(train.nnz / s.batch_size)
        config = TrainConfig(
            steps=s.epochs * steps_per_epoch,
            lr=s.lr,
            weight_decay=s.weight_decay,
            warmup_steps=min(steps_per_epoch, s.epochs * steps_per_epoch),
            grad_clip=None,
            checkpoint_every=steps_per_epoch * s.validate_every,
            log_every=steps_per_epoch,
            seed=s.random_state,
            progress=s.progress,
            validate_every=steps_per_epoch * s.validate_every,
            patience=s.patience,
        )
        validate = None
        if held is not None and held.nnz:
            val_users = np.flatnonzero(np.diff(held.indptr) > 0)
            seen = train[val_users]
            target = held[val_users]

            def validate(net: nn.Module) -> float:
                _, out = net()
                rec = rank_items(out[val_users], out[n_users:], seen, s.k)
                return recall_at_k(rec, target)

        self.result_ = fit(
            model,
            sampler,
            lambda net, batch: bpr_loss(net, batch, s.l2),
            config,
            out_dir=checkpoint_dir,
            resume=resume,
            extra={"settings": asdict(s), "class": type(self).__name__},
            validate=validate,
        )
        model.eval()
        with torch.no_grad():
            model.set_graph(bipartite_graph(r))
            _, out = model()
        self.model_ = model
        self.steps_per_epoch_ = steps_per_epoch
        self.interactions_ = r
        self.n_users_, self.n_items_ = n_users, n_items
        self.user_embeddings_ = out[:n_users].float().numpy()
        self.item_embeddings_ = out[n_users:].float().numpy()
        return self

    # --- prediction -----------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "user_embeddings_"):
            raise NotFittedError(
                f"this {type(self).__name__} is not fitted yet: call fit(interactions) first"
            )

    def scores(self, users: Any = None) -> np.ndarray:
        """Raw scores <user, item> (training items not masked).

        Args:
            users: (m,) user indices (default: all users).

        Returns:
            (m, n_items) float32.
        """
        self._check_fitted()
        u = check_users(users, self.n_users_)
        return self.user_embeddings_[u] @ self.item_embeddings_.T

    def recommend(self, users: Any = None, k: int = 20, exclude_seen: bool = True) -> np.ndarray:
        """The top-k items of each user, best first (same contract as
        :meth:`sciml.graph.GTE.recommend`).

        Args:
            users: (m,) user indices (default: all users).
            k: list length, 1 <= k <= n_items.
            exclude_seen: leave out the training items (they come last when a user has
                fewer than k others).

        Returns:
            (m, k) int64 item ids.
        """
        self._check_fitted()
        k = check_top_k(k, exclude_seen, self.n_items_)
        u = check_users(users, self.n_users_)
        seen = self.interactions_[u] if exclude_seen else None
        return rank_items(
            torch.from_numpy(self.user_embeddings_[u]),
            torch.from_numpy(self.item_embeddings_),
            seen,
            k,
        )
