"""The networks of the FIT family and of GRU-D (torch modules; estimators wrap them)."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from sciml.nn import AttentionPooling

N_CHANNELS = 4  # value, record mean, mask, log Δt (features.FIT_CHANNELS)


class FITGroupEncoder(nn.Module):
    """One FIT network over a group of signals: per-signal input layers, a BiLSTM, attention.

    At each step, signal f's input layer (its own linear map, the authors' "imputation
    layer") reads the four FIT channels of f and of its support signals (none for FIT,
    ``k`` others for FIT-V: how FIT-V relates signals) and gives ``feature_dim`` numbers;
    the F of them are concatenated and run through a bidirectional LSTM, whose outputs are
    pooled by attention over time, as in the authors' code.

    Args:
        support: (F, 1 + k) int, row f = [f, its k support signals] (group-local indices).
        feature_dim: width of each signal's input layer output.
        hidden_size: LSTM width per direction (the output is 2 * hidden_size wide).
    """

    support: Tensor
    out_dim: int

    def __init__(self, support: Tensor, feature_dim: int = 16, hidden_size: int = 64) -> None:
        super().__init__()
        support = torch.as_tensor(support, dtype=torch.long)
        if support.dim() != 2 or not (support[:, 0] == torch.arange(len(support))).all():
            raise ValueError(f"support must be (F, 1 + k) with row f starting at f, got {support}")
        self.register_buffer("support", support, persistent=False)
        n_features, width = support.shape
        fan_in = width * N_CHANNELS
        bound = 1.0 / math.sqrt(fan_in)  # nn.Linear's default initialisation, per signal
        self.weight = nn.Parameter(
            torch.empty(n_features, fan_in, feature_dim).uniform_(-bound, bound)
        )
        self.bias = nn.Parameter(torch.empty(n_features, feature_dim).uniform_(-bound, bound))
        self.lstm = nn.LSTM(
            n_features * feature_dim, hidden_size, batch_first=True, bidirectional=True
        )
        self.pool = AttentionPooling(2 * hidden_size)
        self.out_dim = 2 * hidden_size

    def forward(self, x: Tensor) -> Tensor:
        """x (B, L, F, 4) FIT channels -> (B, 2 * hidden_size)."""
        b, length, f, _ = x.shape
        gathered = x[:, :, self.support].reshape(b, length, f, -1)  # (B, L, F, (1 + k) * 4)
        per_signal = torch.einsum("blfi,fio->blfo", gathered, self.weight) + self.bias
        out, _ = self.lstm(per_signal.reshape(b, length, -1))
        return self.pool(out)


class FITNetwork(nn.Module):
    """FIT / FIT-V (one group) and Multi-FIT (one encoder per resolution group).

    Each group's representation is zero for a record with no observation in that group (as
    in the authors' Multi-FIT code); the representations are concatenated, passed through
    dropout and a linear head.

    Args:
        supports: per group, its (F_g, 1 + k_g) support table.
        n_classes: output logits.
        feature_dim, hidden_size: as in :class:`FITGroupEncoder`.
        dropout: on the merged representation.
    """

    def __init__(
        self,
        supports: list[Tensor],
        n_classes: int,
        *,
        feature_dim: int = 16,
        hidden_size: int = 64,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.encoders = nn.ModuleList(
            FITGroupEncoder(s, feature_dim, hidden_size) for s in supports
        )
        width = 2 * hidden_size * len(self.encoders)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(width, n_classes))

    def forward(self, groups: list[Tensor], present: Tensor) -> Tensor:
        """groups[g] (B, L_g, F_g, 4); present (B, G) float 0/1 -> logits (B, n_classes)."""
        pairs = zip(self.encoders, groups, strict=True)
        reps = [enc(x) * present[:, g, None] for g, (enc, x) in enumerate(pairs)]
        return self.head(torch.cat(reps, dim=-1))


class GRUDNetwork(nn.Module):
    """GRU-D (Che et al. 2018) with a linear classification head on the last hidden state.

    At step t, with mask m, Δt δ (:func:`~sciml.timeseries.features.time_since_last_observation`),
    last observation x_last and the empirical (training) mean x_mean of each signal:

        γ_x = exp(−max(0, w_γx ⊙ δ + b_γx))          (diagonal: one decay per signal)
        x̂   = m ⊙ x + (1 − m) ⊙ (γ_x ⊙ x_last + (1 − γ_x) ⊙ x_mean)
        γ_h = exp(−max(0, W_γh δ + b_γh))
        h   = GRU([x̂, m], γ_h ⊙ h)

    (the mask enters every gate: the GRU's input is [x̂, m]).

    Args:
        x_mean: (F,) empirical mean of each signal over the training split's observations.
        hidden_size: GRU width.
        n_classes: output logits.
        dropout: on the last hidden state.
    """

    x_mean: Tensor

    def __init__(
        self, x_mean: Tensor, hidden_size: int, n_classes: int, *, dropout: float = 0.1
    ) -> None:
        super().__init__()
        x_mean = torch.as_tensor(x_mean, dtype=torch.float32).reshape(-1)
        n_features = x_mean.numel()
        self.register_buffer("x_mean", x_mean)
        bound = 1.0 / math.sqrt(n_features)
        self.w_gamma_x = nn.Parameter(torch.empty(n_features).uniform_(-bound, bound))
        self.b_gamma_x = nn.Parameter(torch.empty(n_features).uniform_(-bound, bound))
        self.gamma_h = nn.Linear(n_features, hidden_size)
        nn.init.uniform_(self.gamma_h.weight, -bound, bound)
        self.cell = nn.GRUCell(2 * n_features, hidden_size)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden_size, n_classes))

    def decays(self, delta: Tensor) -> tuple[Tensor, Tensor]:
        """γ_x (…, F) and γ_h (…, hidden) for Δt ``delta`` (…, F)."""
        gamma_x = torch.exp(-torch.relu(self.w_gamma_x * delta + self.b_gamma_x))
        gamma_h = torch.exp(-torch.relu(self.gamma_h(delta)))
        return gamma_x, gamma_h

    def impute(self, x: Tensor, mask: Tensor, delta: Tensor, x_last: Tensor) -> Tensor:
        """x̂ (…, F): the observed value, else the last one decayed toward the training mean."""
        gamma_x, _ = self.decays(delta)
        decayed = gamma_x * x_last + (1 - gamma_x) * self.x_mean
        return mask * x + (1 - mask) * decayed

    def forward(self, x: Tensor, mask: Tensor, delta: Tensor, x_last: Tensor) -> Tensor:
        """x, mask, delta, x_last: (B, T, F) (x anything finite where mask = 0) -> (B, C)."""
        x_hat = self.impute(x, mask, delta, x_last)
        _, gamma_h = self.decays(delta)
        inputs = torch.cat([x_hat, mask], dim=-1)
        h = x.new_zeros(x.shape[0], self.cell.hidden_size)
        for t in range(x.shape[1]):
            h = self.cell(inputs[:, t], gamma_h[:, t] * h)
        return self.head(h)
