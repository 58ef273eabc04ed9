"""Decoding the symbol output of a PROSE network: greedy, sampling with temperature, and
beam search, batched over trajectories."""

from __future__ import annotations

import torch
from torch import Tensor

from sciml.prose.model import ProseNetwork


@torch.no_grad()
def decode_symbols(
    net: ProseNetwork,
    memory: Tensor,
    padding: Tensor | None,
    bos_id: int,
    eos_id: int,
    max_len: int = 200,
    *,
    beam_size: int = 1,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """Token ids (without ``<BOS>``/``<EOS>``) of each trajectory's equations.

    Args:
        memory: (B, M, D) fused memory from :meth:`ProseNetwork.encode`.
        padding: (B, M) bool memory padding, or None.
        max_len: most tokens generated (a sequence without ``<EOS>`` by then is returned as
            it is; the tokenizer will decode it to None if it is incomplete).
        beam_size: 1: greedy (argmax) without a ``generator``, or sampling at
            ``temperature`` with one; > 1: beam search on log-probabilities scaled by
            1/temperature, returning the finished beam of best mean log-probability per token.
        temperature: > 0; divides the logits.
        generator: draws the samples (beam_size 1 only).
    """
    if beam_size < 1:
        raise ValueError(f"beam_size must be >= 1, got {beam_size}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    max_len = min(max_len, net.config.max_symbol_len - 1)
    if beam_size == 1:
        return _greedy(net, memory, padding, bos_id, eos_id, max_len, temperature, generator)
    out = []
    for i in range(memory.shape[0]):
        pad = None if padding is None else padding[i : i + 1]
        mem = memory[i : i + 1]
        out.append(_beam(net, mem, pad, bos_id, eos_id, max_len, beam_size, temperature))
    return out


def _greedy(net, memory, padding, bos_id, eos_id, max_len, temperature, generator):
    b = memory.shape[0]
    ids = torch.full((b, 1), bos_id, dtype=torch.long, device=memory.device)
    done = torch.zeros(b, dtype=torch.bool, device=memory.device)
    for _ in range(max_len):
        logits = net.decode_symbols(memory, padding, ids, None)[:, -1] / temperature
        if generator is not None:
            probs = logits.float().softmax(-1).cpu()
            nxt = torch.multinomial(probs, 1, generator=generator).to(ids.device)[:, 0]
        else:
            nxt = logits.argmax(-1)
        nxt = torch.where(done, torch.full_like(nxt, eos_id), nxt)
        ids = torch.cat([ids, nxt[:, None]], dim=1)
        done |= nxt == eos_id
        if done.all():
            break
    return [_strip(row.tolist()[1:], eos_id) for row in ids]


def _beam(net, memory, padding, bos_id, eos_id, max_len, beam_size, temperature):
    beams: list[tuple[list[int], float]] = [([bos_id], 0.0)]
    finished: list[tuple[list[int], float]] = []
    for _ in range(max_len):
        ids = torch.tensor([seq for seq, _ in beams], device=memory.device)
        mem = memory.expand(len(beams), -1, -1)
        pad = None if padding is None else padding.expand(len(beams), -1)
        logp = (net.decode_symbols(mem, pad, ids, None)[:, -1] / temperature).log_softmax(-1)
        top = logp.topk(beam_size, dim=-1)
        candidates = [
            ([*seq, int(tok)], score + float(lp))
            for (seq, score), lps, toks in zip(beams, top.values, top.indices, strict=True)
            for lp, tok in zip(lps, toks, strict=True)
        ]
        candidates.sort(key=lambda c: c[1], reverse=True)
        beams = []
        for seq, score in candidates:
            (finished if seq[-1] == eos_id else beams).append((seq, score))
            if len(beams) == beam_size:
                break
        if not beams or len(finished) >= beam_size:
            break
    pool = finished or beams
    best = max(pool, key=lambda c: c[1] / max(len(c[0]) - 1, 1))
    return _strip(best[0][1:], eos_id)


def _strip(ids: list[int], eos_id: int) -> list[int]:
    return ids[: ids.index(eos_id)] if eos_id in ids else ids
