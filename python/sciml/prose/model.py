"""The PROSE network: a multimodal transformer from a trajectory (and optionally a noisy
equation skeleton) to the trajectory at any query times and to the equations' tokens.

Layout, as in PROSE (Liu, Zhang, Schaeffer, Neural Networks 2024):

    data tokens    (t_i, u(t_i))          -> data embedder -> data encoder   ─┐
    skeleton ids   (optional)             -> symbol embed  -> symbol encoder ─┤ + modality
                                                                              ▼ embeddings
                                                 fusion encoder over both modalities
                                                  │                          │
    query times t  -> time embedder -> data decoder (cross-attention only)  │
                                                  │                          │
    target ids (shifted) -> symbol embed -> causal symbol decoder ───────────┘

Each trajectory is standardised per component by its own input's mean and root mean
square; one extra data token carries those statistics, so the symbol decoder still sees
the scale (the constants of an equation depend on it), and the data decoder's output is
mapped back. Components beyond a system's dimension are zero and masked out of the loss.
Choices the paper leaves open are documented in :class:`ProseConfig`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sciml.nn import TransformerDecoder, TransformerEncoder, mlp

DATA_LOSS_WEIGHT = 6.0
"""Loss = 6 * MSE(data) + cross-entropy(symbols), the reference code's weighting."""

_EPS = 1e-6


@dataclass(frozen=True)
class ProseConfig:
    """Sizes of the PROSE network.

    Args:
        vocab_size: number of symbol tokens (``len(ExpressionTokenizer(...))``).
        max_dim: state components the embedders take (systems with fewer are zero-padded).
        dim: token width D.
        heads: attention heads.
        dim_ff: feed-forward width.
        data_encoder_layers: depth of the data encoder (the paper: 2).
        symbol_encoder_layers: depth of the symbol encoder (the paper: 4).
        fusion_layers: depth of the fusion encoder (the paper: 8).
        data_decoder_layers: depth of the data decoder (the paper: 8).
        symbol_decoder_layers: depth of the symbol decoder (the paper: 8).
        max_symbol_len: longest token sequence (positions are learned embeddings).
        dropout: in every attention and residual branch.

    Choices where the paper leaves room: pre-norm layers (stable at every depth without
    warmup tuning), learned positions for symbols, and no positional encoding for data
    tokens, whose time is part of the token.
    """

    vocab_size: int
    max_dim: int = 3
    dim: int = 128
    heads: int = 4
    dim_ff: int = 256
    data_encoder_layers: int = 2
    symbol_encoder_layers: int = 2
    fusion_layers: int = 3
    data_decoder_layers: int = 3
    symbol_decoder_layers: int = 3
    max_symbol_len: int = 256
    dropout: float = 0.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if name == "dropout":
                if not 0.0 <= value < 1.0:
                    raise ValueError(f"dropout must be in [0, 1), got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be an int >= 1, got {value!r}")
        if self.dim % self.heads:
            raise ValueError(f"dim ({self.dim}) must be a multiple of heads ({self.heads})")

    @classmethod
    def preset(cls, name: str, vocab_size: int, max_dim: int = 3) -> ProseConfig:
        """``small`` (the defaults: d = 128, 4 heads, layers 2/2/3/3/3, about 2M parameters;
        trains on a CPU) or ``paper`` (d = 512, 8 heads, layers 2/4/8/8/8, about 100M)."""
        if name == "small":
            return cls(vocab_size=vocab_size, max_dim=max_dim)
        if name == "paper":
            return cls(
                vocab_size=vocab_size,
                max_dim=max_dim,
                dim=512,
                heads=8,
                dim_ff=2048,
                data_encoder_layers=2,
                symbol_encoder_layers=4,
                fusion_layers=8,
                data_decoder_layers=8,
                symbol_decoder_layers=8,
            )
        raise ValueError(f"unknown preset {name!r}; use 'small' or 'paper'")


@dataclass
class ProseOutput:
    """What :meth:`ProseNetwork.forward` returns; a field is None where not asked for.

    Attributes:
        data: predicted states at the query times, (B, Q, max_dim), in the data's units.
        logits: next-token scores of the symbol decoder, (B, S, vocab_size).
        scale: (B, max_dim) the per-trajectory RMS of the input components.
    """

    data: Tensor | None
    logits: Tensor | None
    scale: Tensor


class ProseNetwork(nn.Module):
    """The PROSE transformer (see the module docs). Every variant is one call of
    :meth:`forward`: data only (1→1), data + skeleton → data (2→1), both outputs (2→2), and
    both outputs from data alone (1→2)."""

    def __init__(self, config: ProseConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        layer = {"dropout": c.dropout, "norm_first": True}
        self.data_embedder = mlp(1 + 2 * c.max_dim, c.dim, c.dim)
        self.stats_embedder = mlp(2 * c.max_dim, c.dim, c.dim)
        self.data_encoder = TransformerEncoder(
            c.data_encoder_layers, c.dim, c.heads, c.dim_ff, **layer
        )
        self.symbol_embedding = nn.Embedding(c.vocab_size, c.dim)
        self.symbol_position = nn.Embedding(c.max_symbol_len, c.dim)
        self.symbol_encoder = TransformerEncoder(
            c.symbol_encoder_layers, c.dim, c.heads, c.dim_ff, **layer
        )
        self.modality = nn.Parameter(torch.zeros(2, c.dim))
        self.fusion = TransformerEncoder(c.fusion_layers, c.dim, c.heads, c.dim_ff, **layer)
        self.time_embedder = mlp(1, c.dim, c.dim)
        self.data_decoder = TransformerDecoder(
            c.data_decoder_layers, c.dim, c.heads, c.dim_ff, self_attention=False, **layer
        )
        self.data_head = nn.Linear(c.dim, c.max_dim)
        self.symbol_decoder = TransformerDecoder(
            c.symbol_decoder_layers, c.dim, c.heads, c.dim_ff, **layer
        )
        self.symbol_head = nn.Linear(c.dim, c.vocab_size)
        nn.init.normal_(self.modality, std=0.02)

    # ---------------------------------------------------------------- pieces

    def _symbols(self, ids: Tensor) -> Tensor:
        if ids.shape[1] > self.config.max_symbol_len:
            raise ValueError(
                f"{ids.shape[1]} symbol tokens exceed max_symbol_len = {self.config.max_symbol_len}"
            )
        positions = torch.arange(ids.shape[1], device=ids.device)
        return self.symbol_embedding(ids) + self.symbol_position(positions)

    def encode(
        self,
        t_in: Tensor,
        u_in: Tensor,
        dim_mask: Tensor,
        skeleton_ids: Tensor | None = None,
        skeleton_padding: Tensor | None = None,
    ) -> tuple[Tensor, Tensor | None, Tensor, Tensor]:
        """The fused memory of the inputs.

        Args:
            t_in: (B, N) input times; u_in: (B, N, max_dim) states (zero beyond a system's
            dimension); dim_mask: (B, max_dim) bool, True at a system's own components;
            skeleton_ids: (B, S) token ids or None; skeleton_padding: (B, S) bool, True at
            padding.

        Returns:
            memory (B, M, D), its padding mask (B, M) or None, and the per-trajectory
            mean and scale (RMS) (B, max_dim) the data was standardised by.
        """
        m = dim_mask.to(u_in.dtype)[:, None, :]
        n = u_in.shape[1]
        mean = (u_in * m).sum(1) / n
        # The RMS, not the std: a component nearly constant over the input keeps a sane scale.
        std = (u_in.pow(2) * m).sum(1).div(n).sqrt().clamp_min(_EPS)
        z = (u_in - mean[:, None]) / std[:, None] * m
        tokens = torch.cat([t_in[..., None], z, m.expand_as(z)], dim=-1)
        stats = torch.cat([mean, std.log()], dim=-1) * dim_mask.repeat(1, 2).to(u_in.dtype)
        data = torch.cat([self.stats_embedder(stats)[:, None], self.data_embedder(tokens)], 1)
        data = self.data_encoder(data) + self.modality[0]
        if skeleton_ids is None:
            return self.fusion(data), None, mean, std
        symbols = self.symbol_encoder(
            self._symbols(skeleton_ids), key_padding_mask=skeleton_padding
        )
        symbols = symbols + self.modality[1]
        padding = None
        if skeleton_padding is not None:
            no_pad = torch.zeros(data.shape[:2], dtype=torch.bool, device=data.device)
            padding = torch.cat([no_pad, skeleton_padding], dim=1)
        fused = self.fusion(torch.cat([data, symbols], dim=1), key_padding_mask=padding)
        return fused, padding, mean, std

    def decode_data(
        self, memory: Tensor, padding: Tensor | None, t_out: Tensor, mean: Tensor, std: Tensor
    ) -> Tensor:
        """States at the query times t_out (B, Q) -> (B, Q, max_dim), in the data's units."""
        queries = self.time_embedder(t_out[..., None])
        h = self.data_decoder(queries, memory, memory_padding_mask=padding)
        return self.data_head(h) * std[:, None] + mean[:, None]

    def decode_symbols(
        self, memory: Tensor, padding: Tensor | None, ids: Tensor, ids_padding: Tensor | None
    ) -> Tensor:
        """Next-token logits (B, S, vocab) of the token ids (B, S) (teacher forcing)."""
        h = self.symbol_decoder(
            self._symbols(ids),
            memory,
            memory_padding_mask=padding,
            padding_mask=ids_padding,
            is_causal=True,
        )
        return self.symbol_head(h)

    # ---------------------------------------------------------------- forward

    def forward(
        self,
        t_in: Tensor,
        u_in: Tensor,
        dim_mask: Tensor,
        *,
        t_out: Tensor | None = None,
        target_ids: Tensor | None = None,
        target_padding: Tensor | None = None,
        skeleton_ids: Tensor | None = None,
        skeleton_padding: Tensor | None = None,
    ) -> ProseOutput:
        """Predicts the data at ``t_out`` (B, Q) and/or the symbols of ``target_ids`` (B, S),
        from the inputs of :meth:`encode`. Give ``t_out`` for the data output and
        ``target_ids`` (``<BOS> ...``, teacher forcing) for the symbol output."""
        memory, padding, mean, std = self.encode(
            t_in, u_in, dim_mask, skeleton_ids, skeleton_padding
        )
        data = None if t_out is None else self.decode_data(memory, padding, t_out, mean, std)
        logits = (
            None
            if target_ids is None
            else self.decode_symbols(memory, padding, target_ids, target_padding)
        )
        return ProseOutput(data=data, logits=logits, scale=std)


def prose_loss(
    out: ProseOutput,
    u_out: Tensor | None,
    dim_mask: Tensor,
    target_ids: Tensor | None = None,
    target_padding: Tensor | None = None,
) -> Tensor:
    """6 * MSE(data) + cross-entropy(symbols), over the outputs present.

    The data term is each trajectory's squared error relative to its squared norm (over its
    own components and the query times), averaged over the batch: the square of the relative
    L2 error the paper reports, so systems of different magnitudes weigh alike.

    Args:
        out: the network's output; u_out: (B, Q, max_dim) true states at the query times.
        dim_mask: (B, max_dim) bool, the components that count.
        target_ids: (B, S) the ids the decoder was fed (``<BOS> ... <EOS>``); the logits at
            position i are scored against token i + 1.
        target_padding: (B, S) bool, True at padding (not scored).
    """
    loss = torch.zeros((), device=dim_mask.device)
    if out.data is not None:
        if u_out is None:
            raise ValueError("the data output needs u_out")
        m = dim_mask.to(u_out.dtype)[:, None, :]
        err = ((out.data - u_out).pow(2) * m).sum((1, 2))
        norm = (u_out.pow(2) * m).sum((1, 2)).clamp_min(_EPS)
        loss = loss + DATA_LOSS_WEIGHT * (err / norm).mean()
    if out.logits is not None:
        if target_ids is None:
            raise ValueError("the symbol output needs target_ids")
        labels = target_ids[:, 1:].clone()
        if target_padding is not None:
            labels[target_padding[:, 1:]] = -100
        logits = out.logits[:, :-1]
        loss = loss + F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
    return loss
