"""ProseModel: a trained PROSE network behind numpy-in, numpy/sympy-out predictions."""

from __future__ import annotations

import json
import os
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import sympy
import torch

from sciml._checks import as_float_array, check_finite
from sciml.prose.batch import pad_ids
from sciml.prose.decoding import decode_symbols
from sciml.prose.model import ProseConfig, ProseNetwork
from sciml.prose.refine import refine_system
from sciml.prose.tokenizer import ExpressionTokenizer
from sciml.train import load_checkpoint

PRETRAINED: tuple[str, ...] = ("prose-ode-small",)
"""The models shipped in the package (``sciml/prose/weights/NAME.pt`` and ``NAME.json``)."""


class ProseModel:
    """A trained PROSE network with its tokenizer.

    Args:
        net: the network; tokenizer: the tokenizer it was trained with.
        dims: the system dimensions it was trained on (inputs of other dimensions are
            refused); None: any up to ``net.config.max_dim``.
        device: where the network runs.
    """

    def __init__(
        self,
        net: ProseNetwork,
        tokenizer: ExpressionTokenizer,
        dims: list[int] | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.net = net.to(device).eval()
        self.tokenizer = tokenizer
        self.dims = dims
        self.device = torch.device(device)

    @classmethod
    def pretrained(cls, name: str, *, device: str | torch.device = "cpu") -> ProseModel:
        """A model shipped in the package (:data:`PRETRAINED`). No download."""
        if name not in PRETRAINED:
            raise ValueError(f"unknown pretrained PROSE model {name!r}; choose one of {PRETRAINED}")
        weights = resources.files("sciml.prose") / "weights"
        extra = json.loads((weights / f"{name}.json").read_text())
        with resources.as_file(weights / f"{name}.pt") as path:
            state = torch.load(path, map_location="cpu", weights_only=True)
        return cls._build(extra, {k: v.float() for k, v in state.items()}, device)

    @classmethod
    def _build(cls, extra: dict[str, Any], state: dict, device: Any) -> ProseModel:
        net = ProseNetwork(ProseConfig(**extra["prose_config"]))
        net.load_state_dict(state)
        tokenizer = ExpressionTokenizer(**extra["tokenizer"])
        return cls(net, tokenizer, extra.get("dims"), device)

    def export(self, dest: str | os.PathLike, name: str, extra: dict[str, Any]) -> Path:
        """Writes the weights as float16 ``dest/NAME.pt`` and ``extra`` (the checkpoint's,
        see :func:`~sciml.prose.training.checkpoint_extra`) as ``dest/NAME.json``."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().half() for k, v in self.net.state_dict().items()}
        torch.save(state, dest / f"{name}.pt")
        (dest / f"{name}.json").write_text(json.dumps(extra, indent=1) + "\n")
        return dest / f"{name}.pt"

    @classmethod
    def from_checkpoint(
        cls, path: str | os.PathLike, *, device: str | torch.device = "cpu"
    ) -> ProseModel:
        """A model from a :func:`~sciml.prose.train_prose` checkpoint (its output directory
        or the ``checkpoint.pt`` file)."""
        path = Path(path)
        saved = load_checkpoint(path / "checkpoint.pt" if path.is_dir() else path)
        extra = saved.get("extra") or {}
        if "prose_config" not in extra:
            raise ValueError(f"{path} is not a checkpoint of train_prose (no prose_config)")
        return cls._build(extra, saved["model"], device)

    # ---------------------------------------------------------------- inputs

    def _inputs(self, t_in: Any, u_in: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        t = as_float_array(t_in, "t_in")
        u = as_float_array(u_in, "u_in")
        if t.ndim != 1 or t.size < 2:
            raise ValueError(f"t_in must have shape (N,) with N >= 2, got {t.shape}")
        check_finite(t, "t_in")
        if not (np.diff(t) > 0).all():
            raise ValueError("t_in must be strictly increasing")
        if u.ndim == 2:
            u = u[None]
        if u.ndim != 3 or u.shape[1] != t.size:
            raise ValueError(
                f"u_in must have shape (n, {t.size}, d) or ({t.size}, d) for t_in of "
                f"{t.size} times, got {np.shape(u_in)}"
            )
        check_finite(u, "u_in")
        d, max_dim = u.shape[2], self.net.config.max_dim
        allowed = self.dims if self.dims is not None else list(range(1, max_dim + 1))
        if d not in allowed:
            raise ValueError(f"this model was trained for dimensions {allowed}, got d = {d}")
        padded = np.zeros((*u.shape[:2], max_dim), dtype=np.float32)
        padded[..., :d] = u
        n = u.shape[0]
        mask = torch.zeros(n, max_dim, dtype=torch.bool)
        mask[:, :d] = True
        t_batch = torch.as_tensor(t, dtype=torch.float32).expand(n, -1)
        return t_batch, torch.from_numpy(padded), mask

    def _skeletons(self, skeletons: Any, n: int) -> tuple[torch.Tensor, torch.Tensor] | None:
        if skeletons is None:
            return None
        if len(skeletons) != n:
            raise ValueError(
                f"skeletons must hold one system per trajectory ({n}), got {len(skeletons)}"
            )
        tok = self.tokenizer
        rows = [tok.tokens_to_ids(tok.skeleton_tokens(s)) for s in skeletons]
        return pad_ids(rows, self.tokenizer.pad_id)

    def _encode(self, t_in: Any, u_in: Any, skeletons: Any):
        t, u, mask = self._inputs(t_in, u_in)
        skel = self._skeletons(skeletons, u.shape[0])
        ids, pad = (None, None) if skel is None else skel
        to = self.device
        if ids is not None:
            ids, pad = ids.to(to), pad.to(to)
        memory, padding, mean, scale = self.net.encode(t.to(to), u.to(to), mask.to(to), ids, pad)
        return memory, padding, mean, scale, u.shape[0], int(mask[0].sum())

    # ---------------------------------------------------------------- predictions

    @torch.no_grad()
    def predict(self, t_in: Any, u_in: Any, t_out: Any, *, skeletons: Any = None) -> np.ndarray:
        """The trajectories at the times ``t_out``.

        Args:
            t_in: (N,) strictly increasing input times.
            u_in: (n, N, d) or (N, d) states at t_in.
            t_out: (Q,) query times (any order).
            skeletons: optional list (n) of noisy skeletons (lists of d sympy expressions).

        Returns:
            (n, Q, d) float64 (or (Q, d) for a (N, d) input).
        """
        t_q = as_float_array(t_out, "t_out")
        if t_q.ndim != 1 or t_q.size == 0:
            raise ValueError(f"t_out must have shape (Q,) with Q >= 1, got {t_q.shape}")
        check_finite(t_q, "t_out")
        memory, padding, mean, scale, n, d = self._encode(t_in, u_in, skeletons)
        q = torch.as_tensor(t_q, dtype=torch.float32, device=self.device).expand(n, -1)
        out = self.net.decode_data(memory, padding, q, mean, scale)[..., :d]
        out = out.double().cpu().numpy()
        return out[0] if np.ndim(u_in) == 2 else out

    @torch.no_grad()
    def predict_expressions(
        self,
        t_in: Any,
        u_in: Any,
        *,
        skeletons: Any = None,
        beam_size: int = 1,
        temperature: float = 1.0,
        max_len: int = 200,
        refine: bool = False,
    ) -> list[list[sympy.Expr] | None]:
        """The equations of each trajectory: a list (n) of d sympy expressions in
        ``u_0 ... u_{d-1}``, or None where the decoded tokens are not a valid system of d
        components.

        ``refine=True`` refits the coefficients of each predicted system's terms to its own
        input trajectory (:func:`sciml.prose.refine.refine_system`; about a second per
        trajectory), keeping the decoder's value wherever the data do not contradict it.
        """
        memory, padding, _, _, _, d = self._encode(t_in, u_in, skeletons)
        tok = self.tokenizer
        rows = decode_symbols(
            self.net,
            memory,
            padding,
            tok.bos_id,
            tok.eos_id,
            max_len,
            beam_size=beam_size,
            temperature=temperature,
        )
        out: list[list[sympy.Expr] | None] = []
        for ids in rows:
            system = tok.decode(tok.ids_to_tokens(ids))
            valid = system is not None and len(system) == d
            out.append(system if valid and _uses_only(system, d) else None)
        if refine:
            t = np.asarray(t_in, dtype=np.float64)
            u = np.asarray(u_in, dtype=np.float64).reshape(len(out), t.size, d)
            out = [refine_system(s, t, u[i]) for i, s in enumerate(out)]
        return out


def _uses_only(system: list[sympy.Expr], d: int) -> bool:
    allowed = {f"u_{i}" for i in range(d)}
    return all({s.name for s in e.free_symbols} <= allowed for e in system)
