"""Training batches of PROSE: trajectories split into input and query times, with the
tokens of their equations and of noisy skeletons, as padded tensors."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import Tensor

from sciml.prose.skeleton import skeleton_noise
from sciml.prose.systems import Trajectories
from sciml.prose.tokenizer import ExpressionTokenizer

N_INPUT = 64
"""The paper's protocol: of 192 points on [0, 6], the first 64 (t < 2) are the input."""


@dataclass
class ProseBatch:
    """Tensors of one batch (B trajectories).

    Attributes:
        t_in: (B, N) input times; u_in: (B, N, max_dim) noisy input states.
        t_out: (B, Q) query times; u_out: (B, Q, max_dim) clean states there.
        dim_mask: (B, max_dim) bool, True at each system's own components.
        target_ids, target_padding: (B, S) ``<BOS> equations <EOS>`` and its padding.
        skeleton_ids, skeleton_padding: (B, S') noisy skeleton tokens, or None.
    """

    t_in: Tensor
    u_in: Tensor
    t_out: Tensor
    u_out: Tensor
    dim_mask: Tensor
    target_ids: Tensor
    target_padding: Tensor
    skeleton_ids: Tensor | None = None
    skeleton_padding: Tensor | None = None

    def to(self, device: torch.device | str) -> ProseBatch:
        moved = {
            f.name: None if getattr(self, f.name) is None else getattr(self, f.name).to(device)
            for f in fields(self)
        }
        return ProseBatch(**moved)


def pad_ids(rows: list[list[int]], pad_id: int) -> tuple[Tensor, Tensor]:
    """Rows of ids as (B, S) long with padding ``pad_id`` and the (B, S) bool padding mask."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r, dtype=torch.long)
    return ids, ids == pad_id


def make_batch(
    traj: Trajectories,
    tokenizer: ExpressionTokenizer,
    max_dim: int,
    *,
    n_input: int = N_INPUT,
    skeletons: bool = False,
    rng: np.random.Generator | None = None,
) -> ProseBatch:
    """The batch of ``traj``: its first ``n_input`` noisy points as input, the rest (clean)
    as queries, the equations as target tokens and, with ``skeletons``, noisy skeletons
    (:func:`skeleton_noise`) as the symbol input. float32 tensors on the CPU."""
    n, steps, width = traj.u.shape
    if width > max_dim:
        raise ValueError(f"trajectories of dimension {width} exceed max_dim = {max_dim}")
    if not 0 < n_input < steps:
        raise ValueError(f"n_input must be in 1..{steps - 1}, got {n_input}")
    u = np.zeros((n, steps, max_dim), dtype=np.float32)
    u[..., :width] = traj.u
    clean = np.zeros_like(u)
    clean[..., :width] = traj.u_clean
    dims = torch.as_tensor(traj.dims)
    dim_mask = torch.arange(max_dim)[None, :] < dims[:, None]
    t = torch.as_tensor(traj.t, dtype=torch.float32).expand(n, -1)
    targets = [tokenizer.encode_ids(traj.expressions(i)) for i in range(n)]
    target_ids, target_padding = pad_ids(targets, tokenizer.pad_id)
    batch = ProseBatch(
        t_in=t[:, :n_input].contiguous(),
        u_in=torch.from_numpy(u[:, :n_input]),
        t_out=t[:, n_input:].contiguous(),
        u_out=torch.from_numpy(clean[:, n_input:]),
        dim_mask=dim_mask,
        target_ids=target_ids,
        target_padding=target_padding,
    )
    if skeletons:
        rng = rng if rng is not None else np.random.default_rng()
        rows = []
        for i in range(n):
            skeleton = tokenizer.skeleton(traj.expressions(i))
            noisy = skeleton_noise(skeleton, rng, dim=int(traj.dims[i]))
            rows.append(tokenizer.tokens_to_ids(tokenizer.skeleton_tokens(noisy)))
        batch.skeleton_ids, batch.skeleton_padding = pad_ids(rows, tokenizer.pad_id)
    return batch
