#!/usr/bin/env python
"""Fuzzes every public entry point of sciml's Rust kernels, each in its own subprocess.

Two modes::

    python tests/fuzz_kernels.py --entry NAME --examples N --seed S [--memory-limit-gb G]
    python tests/fuzz_kernels.py --all --profile ci|full

The first runs one entry point in this process and prints one JSON line of counts. The
second runs each entry point in its own subprocess under an address-space limit
(``RLIMIT_AS``, set in the child by ``preexec_fn``) and a per-call time limit; a child
killed by a signal (segfault, Rust's abort on a failed allocation) is a *crash*, a call
over the time limit a *hang*, each recorded with the input that caused it (the child
writes every input's description to a state file before the call), and the run resumes
after it. It prints a JSON summary and exits 1 on any crash, hang, unexpected exception or
non-finite output from finite inputs.

Outcomes of a call: *returned* (then every float output must be finite whenever every
input was), a *clean error* (``ValueError``, ``TypeError`` or ``MemoryError``), or
*unexpected* (any other exception, a Rust panic included).

Case i of an entry is drawn from ``numpy.random.default_rng([seed, i])``, so one case is
replayed with ``--entry NAME --seed S --start i --examples 1 --verbose``. Inputs: random
shapes with 0-sized ones, wrong ranks, mismatched shapes, float32/float64/int/bool/object
dtypes, NaN/inf, magnitudes from 1e-300 to 1e300 (1e-38 to 1e38 in float32), non-contiguous
views, negative and huge integers, bad option strings, and huge requested sizes (far over
the memory limit, or near what is left under it) that must give ``MemoryError``.
"""

from __future__ import annotations

import argparse
import dataclasses
import faulthandler
import importlib.util
import json
import math
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

CLEAN_ERRORS = (MemoryError, ValueError, TypeError)
KEPT = 5  # findings of each kind kept with their inputs
GIB = 1 << 30
NUMPY_LIMIT_GB = 2.0  # address space for entries without torch (about 0.4 GiB after imports)
TORCH_LIMIT_GB = 5.0  # torch maps about 3.4 GiB at import
MAX_HEADROOM = 2 * GIB  # near-limit requests touch at most this much memory


@dataclasses.dataclass(frozen=True)
class Profile:
    """How many calls per entry point, from which seed, and the limits of one run."""

    examples: int
    seed: int
    call_timeout_s: float
    max_failures: int  # crashes and hangs before an entry point's run stops


PROFILES = {
    "ci": Profile(examples=300, seed=20_170, call_timeout_s=20.0, max_failures=3),
    "full": Profile(examples=10_000, seed=17, call_timeout_s=30.0, max_failures=25),
}


# ---------------------------------------------------------------------------- drawing


@dataclasses.dataclass
class Case:
    """One call: ``func(*args, **kwargs)``; ``label`` names it in reports."""

    label: str
    func: Callable[..., Any]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    check: Callable[[Any], list[str]] | None = None  # non-finite outputs, if not generic


BAD_STRINGS: list[Any] = [
    "",
    " ",
    "Output",
    "none ",
    "thin-plate",
    "THIN_PLATE",
    "wendland\x00",
    "\u00e9",
    "auto",
    "sqrt",
    "paper",
    0,
    1.5,
    None,
    b"output",
    ["output"],
]
WEIRD_INTS: list[Any] = [
    -1,
    -2,
    -(2**31),
    -(2**63),
    2**31 - 1,
    2**32 - 1,
    2**32,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64 - 1,
    2**64,
    10**30,
    True,
    False,
    np.int64(3),
    np.uint64(2**64 - 1),
    2.0,
    2.5,
    "3",
    None,
    float("nan"),
]


def _specials(dtype: np.dtype) -> list[float]:
    fi = np.finfo(dtype)
    return [
        math.nan,
        math.inf,
        -math.inf,
        0.0,
        -0.0,
        float(fi.max),
        -float(fi.max),
        float(fi.tiny),
        float(fi.smallest_subnormal),
    ]


class Draw:
    """Random choices of one case, biased to edge cases; ``tags`` says which it made."""

    def __init__(self, rng: np.random.Generator, headroom: int | None, index: int = 0) -> None:
        self.rng = rng
        self.headroom = headroom
        self.index = index
        self.tags: set[str] = set()

    def chance(self, p: float) -> bool:
        return bool(self.rng.random() < p)

    def pick(self, options: list[Any] | tuple[Any, ...]) -> Any:
        return options[int(self.rng.integers(len(options)))]

    def count(self, hi: int, lo: int = 0) -> int:
        """An int in [lo, hi], with the ends and lo + 1 drawn often."""
        r = self.rng.random()
        if r < 0.1:
            return lo
        if r < 0.2:
            return min(lo + 1, hi)
        if r < 0.25:
            return hi
        return int(self.rng.integers(lo, hi + 1))

    def off(self, n: int, p: float = 0.03) -> int:
        """n, or rarely a neighbour of it (a mismatched shape)."""
        if self.chance(p):
            self.tags.add("mismatch")
            return max(0, n + self.pick([-1, 1, 2]))
        return n

    def scale(self, dtype: Any = np.float64) -> float:
        """A magnitude: near 1 mostly, else anywhere in the dtype's normal range."""
        if self.chance(0.7):
            return float(10 ** self.rng.uniform(-2, 2))
        self.tags.add("extreme")
        if np.dtype(dtype) == np.float32:
            return float(self.pick([1e-40, 1e-45, 10 ** self.rng.uniform(-38, 38)]))
        return float(self.pick([1e-310, 1e-320, 1.7e308] + [10 ** self.rng.uniform(-300, 300)] * 6))

    def floats(
        self,
        shape: tuple[int, ...],
        dtype: Any = np.float64,
        scale: float = 1.0,
        loc: float = 0.0,
        positive: bool = False,
        special: float = 0.03,
    ) -> np.ndarray:
        """Normal values times ``scale`` plus ``loc``; rarely with NaN/inf/extremes inside."""
        a = self.rng.standard_normal(shape)
        if positive:
            a = np.abs(a) + 0.05
        with np.errstate(all="ignore"):
            a = (a * scale + loc).astype(dtype)
        if a.size and self.chance(special):
            self.tags.add("special")
            where = self.rng.integers(0, a.size, self.count(3, 1))
            a.flat[where] = [self.pick(_specials(a.dtype)) for _ in where]
        return a

    def real(self, typical: float = 1.0) -> Any:
        """A float option: typical, extreme, special, or not a float at all."""
        r = self.rng.random()
        if r < 0.75:
            return float(self.rng.standard_normal() * typical)
        if r < 0.9:
            self.tags.add("extreme")
            return float(self.pick([-1, 1]) * 10 ** self.rng.uniform(-300, 300))
        if r < 0.97:
            self.tags.add("special")
            return self.pick(_specials(np.dtype(np.float64)))
        self.tags.add("bad_type")
        return self.pick(["1.0", None, [1.0], 1 + 1j, True, np.float32(2.0), 3])

    def integer(self, lo: int, hi: int, weird: float = 0.05) -> Any:
        """An int in [lo, hi], or rarely a negative, huge or non-int value."""
        if self.chance(weird):
            self.tags.add("bad_int")
            return self.pick(WEIRD_INTS)
        return int(self.rng.integers(lo, hi + 1))

    def option(self, valid: list[Any], invalid: list[Any] = BAD_STRINGS, p: float = 0.05) -> Any:
        if self.chance(p):
            self.tags.add("bad_option")
            return self.pick(invalid)
        return self.pick(valid)

    def huge_bytes(self) -> int:
        """A memory request: near what the limit leaves (when known) or far beyond any RAM."""
        self.tags.add("huge")
        if self.headroom and self.chance(0.5):
            self.tags.add("near_limit")
            return int(self.headroom * self.rng.uniform(0.3, 1.5))
        return int(10 ** self.rng.uniform(12, 15))

    def mutate(self, a: Any, p: float = 0.06) -> Any:
        """``a``, or with probability p a non-contiguous view or another dtype/rank/type."""
        if "huge" in self.tags:
            p /= 5  # a huge request should mostly reach the kernel's memory check
        if not isinstance(a, np.ndarray) or not self.chance(p):
            return a
        how = self.pick(["noncontig", "noncontig", "dtype", "dtype", "rank", "type"])
        self.tags.add(how)
        if how == "noncontig":
            return non_contiguous(self, a)
        if how == "dtype":
            dtypes = [np.float32, np.float64, np.float16, np.int64, np.int32, np.uint8, np.bool_]
            new = self.pick([*dtypes, np.complex128, object])
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                return a.astype(new)
        if how == "rank":
            if a.ndim and a.shape[0] and self.chance(0.3):
                return a[0]
            return self.pick([a[None], a[..., None], a.reshape(-1)])
        return self.pick([a.tolist(), None, 1.0, "array"])


def non_contiguous(d: Draw, a: np.ndarray) -> np.ndarray:
    """A view with the values of ``a`` that is not C-contiguous (where its shape allows)."""
    if a.ndim == 0:
        return a
    kind = d.pick(["step", "flip", "fortran"])
    if kind == "step":
        axis = int(d.rng.integers(a.ndim))
        shape = list(a.shape)
        shape[axis] *= 2
        big = np.zeros(shape, a.dtype)
        index = tuple(slice(None, None, 2) if i == axis else slice(None) for i in range(a.ndim))
        big[index] = a
        return big[index]
    if kind == "flip":
        return np.flip(np.flip(a, -1).copy(), -1)
    return np.asfortranarray(a)


# ---------------------------------------------------------------------------- describing


def describe(v: Any, limit: int = 600) -> str:
    """A short description of an input, with the full values of small arrays."""
    text = _describe(v)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(v: Any) -> str:
    if isinstance(v, np.ndarray):
        layout = "" if v.flags.c_contiguous else f" [not C-contiguous, strides {v.strides}]"
        if v.size <= 16 and v.dtype != object:
            return f"np.array({v.tolist()!r}, dtype={v.dtype.name!r}){layout}"
        return f"<ndarray {v.shape} {v.dtype}{layout} {_summary(v)}>"
    if type(v).__module__.startswith("torch") and hasattr(v, "detach"):
        import torch

        layout = "" if v.is_contiguous() else f" [non-contiguous, strides {v.stride()}]"
        grad = ", requires_grad=True" if v.requires_grad else ""
        if v.numel() <= 16:
            return f"torch.tensor({v.detach().tolist()!r}, dtype={v.dtype}{grad}){layout}"
        values = v.detach().to(torch.float64) if v.is_floating_point() else v.detach()
        return f"<tensor {tuple(v.shape)} {v.dtype}{grad}{layout} {_summary(values.numpy())}>"
    if type(v).__module__.startswith("scipy.sparse"):
        data = v.tocoo()
        return (
            f"<{type(v).__name__} {v.shape} {v.dtype} nnz={v.nnz} "
            f"rows={data.row[:12].tolist()} cols={data.col[:12].tolist()} "
            f"data={data.data[:12].tolist()}>"
        )
    if type(v).__module__.startswith("networkx"):
        edges = list(v.edges(data=True))[:8]
        return f"<{type(v).__name__} {v.number_of_nodes()} nodes, edges {edges}...>"
    if isinstance(v, tuple):
        return "(" + ", ".join(_describe(x) for x in v) + ("," if len(v) == 1 else "") + ")"
    if isinstance(v, list) and len(v) > 16:
        return f"<list of {len(v)}: {v[:4]!r}...>"
    return repr(v)


def _summary(a: np.ndarray) -> str:
    if a.dtype.kind not in "fc" or a.size == 0:
        return ""
    finite = np.isfinite(a)
    mags = np.abs(a[finite])
    rng = f"|finite| in [{mags.min():.3g}, {mags.max():.3g}]" if mags.size else "no finite values"
    return f"{rng}, {int(a.size - finite.sum())} non-finite"


def describe_case(case: Case) -> str:
    parts = [describe(a) for a in case.args]
    parts += [f"{k}={describe(v)}" for k, v in case.kwargs.items()]
    return f"{case.label}({', '.join(parts)})"[:4000]


# ---------------------------------------------------------------------------- checking


def all_finite(v: Any) -> bool:
    """Whether every number in an input is finite (False where unsure)."""
    try:
        return _all_finite(v)
    except Exception:
        return False


def _all_finite(v: Any) -> bool:
    if v is None or isinstance(v, str | bytes | bool | int | np.integer | np.bool_):
        return True
    if isinstance(v, float | np.floating | complex | np.complexfloating):
        return bool(np.isfinite(v))
    if isinstance(v, np.ndarray):
        if v.dtype.kind in "fc":
            return non_finite_count(v) == 0
        if v.dtype == object:
            return all(_all_finite(x) for x in v.flat)
        return True
    module = type(v).__module__
    if module.startswith("torch") and hasattr(v, "detach"):
        return non_finite_count(v) == 0
    if module.startswith("scipy.sparse"):
        return _all_finite(np.asarray(v.tocoo().data))
    if module.startswith("networkx"):
        return all(_all_finite(x) for *_, data in v.edges(data=True) for x in data.values())
    if isinstance(v, list | tuple):
        return all(_all_finite(x) for x in v)
    if isinstance(v, dict):
        return all(_all_finite(x) for x in v.values())
    return True


def non_finite_count(a: Any) -> int:
    """NaN and inf entries of a float array or tensor, counted in chunks (outputs near the
    memory limit leave no room for a whole boolean mask)."""
    chunk = 1 << 20
    if isinstance(a, np.ndarray):
        if a.dtype.kind not in "fc":
            return 0
        flat = a.reshape(-1)
        return sum(
            len(part) - int(np.count_nonzero(np.isfinite(part)))
            for part in (flat[i : i + chunk] for i in range(0, flat.size, chunk))
        )
    import torch

    t = a.detach()
    if not (t.is_floating_point() or t.is_complex()):
        return 0
    return sum(int((~torch.isfinite(part)).sum()) for part in t.reshape(-1).split(chunk))


def non_finite_outputs(v: Any, path: str = "out") -> list[str]:
    """Descriptions of the outputs holding NaN or inf (empty when all are finite)."""
    if isinstance(v, tuple | list):
        return [s for i, x in enumerate(v) for s in non_finite_outputs(x, f"{path}[{i}]")]
    if isinstance(v, float | np.floating):
        return [] if math.isfinite(v) else [f"{path} = {v}"]
    if type(v).__module__.startswith("scipy.sparse"):
        v = np.asarray(v.tocoo().data)
    is_tensor = type(v).__module__.startswith("torch") and hasattr(v, "detach")
    if isinstance(v, np.ndarray) or is_tensor:
        bad = non_finite_count(v)
        if bad:
            size = v.numel() if is_tensor else v.size
            return [f"{path}: {bad} of {size} entries non-finite, shape {tuple(v.shape)} {v.dtype}"]
    return []


# ---------------------------------------------------------------------------- entry points


@dataclasses.dataclass(frozen=True)
class Entry:
    """A public entry point: how to draw one call of it, and whether it needs torch."""

    name: str
    make: Callable[[Draw], Case]
    torch: bool = False


ENTRIES: dict[str, Entry] = {}


def entry(name: str, torch: bool = False) -> Callable[[Callable[[Draw], Case]], Any]:
    def register(make: Callable[[Draw], Case]) -> Callable[[Draw], Case]:
        ENTRIES[name] = Entry(name, make, torch)
        return make

    return register


def _core() -> Any:
    from sciml import _core

    return _core


# --- Gaussian embedding


def gaussian_arrays(d: Draw, dtype: Any) -> dict[str, np.ndarray]:
    """x (N, d), mu and sigma (K, d) or (C, Nc, d), w (K, F) or (C, Nc), sometimes huge."""
    if d.chance(0.03):
        return huge_gaussian_arrays(d, dtype)
    n, dim = d.count(12), d.count(4)
    if d.chance(0.03):
        n = int(d.rng.integers(100, 3000))  # enough points for several tasks per thread
    sx = d.scale(dtype)
    x = d.floats((n, dim), dtype, sx, loc=d.pick([0.0, 0.0, 10 * sx]))
    gshape: tuple[int, ...]
    wshape: tuple[int, ...]
    if d.chance(0.3):
        c, nc = d.count(4), d.count(5)
        gshape, wshape = (c, nc, d.off(dim)), (d.off(c), d.off(nc))
    else:
        k = d.count(6)
        gshape, wshape = (k, d.off(dim)), (d.off(k), d.count(5))
    mu = d.floats(gshape, dtype, sx, loc=d.pick([0.0, 10 * sx]))
    ss = sx * float(10 ** d.rng.uniform(-1, 1)) if d.chance(0.6) else d.scale(dtype)
    sigma = d.floats(d.pick([gshape] * 20 + [wshape]), dtype, ss, positive=True)
    if sigma.size and d.chance(0.03):
        d.tags.add("bad_sigma")
        sigma.flat[0] = d.pick([0.0, -1.0, -0.0])
    w = d.floats(wshape, dtype, d.scale(dtype))
    return {"x": x, "mu": mu, "sigma": sigma, "w": w}


def huge_gaussian_arrays(d: Draw, dtype: Any) -> dict[str, np.ndarray]:
    """Small inputs whose outputs phi, d1, d2 (N F (1 + 2 d) values) need huge memory."""
    item = np.dtype(dtype).itemsize
    dim = d.pick([1, 1, 2, 3])
    pairs = max(1, d.huge_bytes() // (item * (1 + 2 * dim)))
    n = int(min(3e5, max(1.0, math.sqrt(pairs) * 10 ** d.rng.uniform(-0.5, 0.5))))
    f = int(min(3e5, max(1, pairs // n)))
    x = d.floats((n, dim), dtype, special=0.0)
    if "near_limit" in d.tags or d.chance(0.5):
        mu, sigma, w = np.zeros((1, dim), dtype), np.ones((1, dim), dtype), np.ones((1, f), dtype)
    else:  # the per-channel layout is slower per output: only requests refused at once
        mu, sigma, w = (
            np.zeros((f, 1, dim), dtype),
            np.ones((f, 1, dim), dtype),
            np.ones((f, 1), dtype),
        )
    return {"x": x, "mu": mu, "sigma": sigma, "w": w}


def gaussian_order(d: Draw) -> Any:
    return d.option([0, 1, 2, 2], [-1, 3, 2**64, 1.0, "2", None, True, np.int64(1)])


def gaussian_cutoff(d: Draw, wrapper: bool) -> Any:
    low, high = float(10 ** d.rng.uniform(-1, 1.5)), float(10 ** d.rng.uniform(-300, 300))
    valid: list[Any] = [6.4, 6.4, None, low, high]
    if wrapper:
        valid.append("auto")
    return d.option(valid, [0.0, -1.0, math.nan, math.inf, -math.inf, "auto", "x", True, 1e-320])


def _options(d: Draw, **options: Any) -> dict[str, Any]:
    """Each keyword argument kept with probability 0.7 (else the default applies)."""
    return {k: v for k, v in options.items() if d.chance(0.7)}


@entry("core.gaussian_embedding_forward")
def _gaussian_forward(d: Draw) -> Case:
    dtype = d.pick([np.float64, np.float32])
    a = {k: d.mutate(v) for k, v in gaussian_arrays(d, dtype).items()}
    kwargs = _options(d, order=gaussian_order(d), cutoff=gaussian_cutoff(d, wrapper=False))
    return Case("_core.gaussian_embedding_forward", _core().gaussian_embedding_forward,
                (a["x"], a["mu"], a["sigma"], a["w"]), kwargs)  # fmt: skip


@entry("core.gaussian_embedding_backward")
def _gaussian_backward(d: Draw) -> Case:
    dtype = d.pick([np.float64, np.float32])
    a = gaussian_arrays(d, dtype)
    huge = "huge" in d.tags
    n, dim = a["x"].shape
    f = a["mu"].shape[0] if a["mu"].ndim == 3 else a["w"].shape[-1]
    shapes = [(d.off(n), f), (n, d.off(dim), f), (n, dim, d.off(f))]
    ups = [None if huge or d.chance(0.3) else d.floats(s, dtype, d.scale(dtype)) for s in shapes]
    args = tuple(d.mutate(v) for v in [a["x"], a["mu"], a["sigma"], a["w"], *ups])
    kwargs = _options(d, cutoff=gaussian_cutoff(d, wrapper=False))
    return Case("_core.gaussian_embedding_backward", _core().gaussian_embedding_backward,
                args, kwargs)  # fmt: skip


def to_tensor(d: Draw, a: Any) -> Any:
    """A tensor with the values of ``a``; rarely non-contiguous, of another dtype or rank,
    or left a numpy array."""
    import torch

    if not isinstance(a, np.ndarray):
        return a
    if d.chance(0.02):
        d.tags.add("type")
        return a
    t = torch.from_numpy(a.copy())
    if d.chance(0.06) and t.dim():
        d.tags.add("noncontig")
        if t.dim() >= 2 and d.chance(0.5):
            t = t.transpose(0, 1).contiguous().transpose(0, 1)
        else:
            big = torch.zeros((2 * t.shape[0], *t.shape[1:]), dtype=t.dtype)
            big[::2] = t
            t = big[::2]
    if d.chance(0.03):
        d.tags.add("dtype")
        t = t.to(d.pick([torch.float16, torch.bfloat16, torch.int64, torch.bool, torch.complex64]))
    if d.chance(0.02):
        d.tags.add("rank")
        t = t.unsqueeze(0)
    return t


def _gaussian_with_grads(
    rng: np.random.Generator, x: Any, mu: Any, sigma: Any, w: Any, **kwargs: Any
) -> tuple[Any, ...]:
    """``gaussian_embedding`` forward, then backward (autograd.grad) to every input that
    requires grad, with random upstream gradients; returns outputs and gradients."""
    import torch

    from sciml.ops import gaussian_embedding

    outs = gaussian_embedding(x, mu, sigma, w, **kwargs)
    leaves = [t for t in (x, mu, sigma, w) if isinstance(t, torch.Tensor) and t.requires_grad]
    if not leaves:
        return outs
    try:  # the fuzzer's own allocation, not the library's
        ups = [torch.from_numpy(rng.standard_normal(o.shape)).to(o.dtype) for o in outs]
    except (MemoryError, RuntimeError):
        return outs
    grads = torch.autograd.grad(outs, leaves, grad_outputs=ups, allow_unused=True)
    return (*outs, *grads)


@entry("ops.gaussian_embedding", torch=True)
def _gaussian_wrapper(d: Draw) -> Case:
    dtype = d.pick([np.float64, np.float32])
    tensors = {k: to_tensor(d, v) for k, v in gaussian_arrays(d, dtype).items()}
    if "huge" not in d.tags:
        for t in tensors.values():
            if hasattr(t, "requires_grad_") and t.is_floating_point() and d.chance(0.7):
                t.requires_grad_(True)
    kwargs = _options(d, order=gaussian_order(d), cutoff=gaussian_cutoff(d, wrapper=True))
    return Case("sciml.ops.gaussian_embedding+autograd.grad",
                lambda *a, **k: _gaussian_with_grads(d.rng, *a, **k),
                tuple(tensors.values()), kwargs)  # fmt: skip


# --- FastRP


def random_edges(d: Draw, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows and columns (row-major order) of a random directed or symmetric graph."""
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    mask = d.rng.random((n, n)) < d.rng.uniform(0, 0.4)
    if d.chance(0.5):
        mask |= mask.T
    rows, cols = np.nonzero(mask)
    return rows.astype(np.int64), cols.astype(np.int64)


def edge_values(d: Draw, m: int) -> np.ndarray | None:
    """Edge weights: none, ones, floats, ints (zeros too), bools or extreme magnitudes."""
    kind = d.pick(["none", "ones", "float", "float", "int", "bool", "extreme"])
    if kind == "none":
        return None
    if kind == "ones":
        v = np.ones(m)
    elif kind == "float":
        v = d.rng.uniform(0.01, 3.0, m)
    elif kind == "int":
        return d.rng.integers(0, 5, m)
    elif kind == "bool":
        return d.rng.random(m) < 0.8
    else:
        d.tags.add("extreme")
        v = 10 ** d.rng.uniform(-300, 300, m)
    if m and d.chance(0.05):
        d.tags.add("special")
        v[int(d.rng.integers(m))] = d.pick([math.nan, math.inf, -1.0, 0.0, 1e39, 3.4e38])
    return v


def fastrp_kwargs(d: Draw, n: int) -> dict[str, Any]:
    """Keyword arguments of ``_core.fastrp_embedding`` (dim, weights, beta and sparsity
    always; the others sometimes)."""
    weights: Any = [d.real(d.pick([1.0, 1.0, 10.0, 1e30])) for _ in range(d.count(5))]
    if d.chance(0.03):
        d.tags.add("bad_type")
        weights = d.pick(["1,2", (1.0, 2.0), np.ones(3), None, [1.0, "x"], 1.0])
    sparsity = d.pick([1.0, 3.0, max(1.0, math.sqrt(n)), float(d.rng.uniform(1, 100))])
    if d.chance(0.1):
        d.tags.add("extreme")
        sparsity = d.pick([10 ** d.rng.uniform(0, 300), 0.5, 0.0, -1.0, math.nan, math.inf])
    kwargs = {
        "dim": d.integer(1, 64),
        "weights": weights,
        "beta": d.real(d.pick([0.5, 2.0])),
        "sparsity": sparsity,
    }
    kwargs |= _options(
        d,
        normalization=d.option(["none", "output", "propagate"]),
        degree=d.option(["weighted", "count"]),
        self_influence=d.real(),
        standardize=d.option([True, False], [1, 0, None, "yes", np.bool_(True)]),
        seed=d.integer(0, 2**63 - 1),
        low_memory=d.option([None, True, False], [1, "no"]),
    )
    return kwargs


def huge_fastrp(d: Draw, kwargs: dict[str, Any], n: int) -> tuple[dict[str, Any], int]:
    """A dimension (or, for an empty graph, a node count) asking for huge memory: FastRP
    keeps up to three (n, dim) float32 buffers."""
    budget = d.huge_bytes() // 12
    if d.chance(0.7) or n > 1000:
        kwargs["dim"] = int(min(2**32 - 1, max(1, budget // max(n, 1))))
        return kwargs, n
    kwargs["dim"] = int(d.rng.integers(64, 4096))
    return kwargs, int(min(5_000_000, max(1, budget // kwargs["dim"])))


def csr_arrays(d: Draw, n: int) -> tuple[Any, Any, Any]:
    """indptr int64, indices int32/int64 and float32 data (or None) of a random graph,
    rarely with duplicates, unsorted rows or one corruption."""
    rows, cols = random_edges(d, n)
    if rows.size and d.chance(0.05):
        d.tags.add("duplicates")
        extra = d.rng.integers(0, rows.size, d.count(5, 1))
        rows, cols = np.concatenate([rows, rows[extra]]), np.concatenate([cols, cols[extra]])
    order = np.argsort(rows, kind="stable")
    if d.chance(0.05):
        d.tags.add("unsorted")
        perm = d.rng.permutation(rows.size)
        order = perm[np.argsort(rows[perm], kind="stable")]
    rows, cols = rows[order], cols[order]
    indptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    indices = cols.astype(d.pick([np.int32, np.int64]))
    values = edge_values(d, rows.size)
    with np.errstate(all="ignore"):
        data = None if values is None else values.astype(np.float32)
    if d.chance(0.1):
        indptr, indices, data = corrupt_csr(d, n, indptr, indices, data)
    return indptr, indices, data


def corrupt_csr(d: Draw, n: int, indptr: Any, indices: Any, data: Any) -> tuple[Any, Any, Any]:
    how = d.pick(["start", "end", "order", "range", "indptr_dtype", "indices_dtype", "data"])
    d.tags.add(f"corrupt_{how}")
    indptr, indices = indptr.copy(), indices.copy()
    if how == "start":
        indptr[0] = d.pick([1, -1, 2**40])
    elif how == "end":
        indptr[-1] += d.pick([-1, 1, 2**40])
    elif how == "order" and n >= 2:
        indptr[1], indptr[-2] = indptr[-2] + 1, indptr[1]
    elif how == "range" and indices.size:
        indices[int(d.rng.integers(indices.size))] = d.pick([n, n + 5, -1, 2**31 - 1])
    elif how == "indptr_dtype":
        indptr = indptr.astype(d.pick([np.int32, np.uint64, np.float64]))
    elif how == "indices_dtype":
        indices = indices.astype(d.pick([np.uint32, np.int16, np.float64, np.uint64]))
    elif data is not None:
        data = d.pick([data.astype(np.float64), data[:-1], np.append(data, 1.0)])
    else:
        data = d.pick([np.ones(indices.size + 1, np.float32), np.ones(indices.size)])
    return indptr, indices, data


@entry("core.fastrp_embedding")
def _fastrp_core(d: Draw) -> Case:
    n = d.count(30) if d.chance(0.95) else int(d.rng.integers(100, 300))
    kwargs = fastrp_kwargs(d, n)
    if d.chance(0.03):
        kwargs, n = huge_fastrp(d, kwargs, n)
    if "huge" in d.tags and n > 300:
        indptr, indices, data = np.zeros(n + 1, np.int64), np.zeros(0, np.int32), None
    else:
        indptr, indices, data = csr_arrays(d, n)
    args = (d.mutate(indptr), d.mutate(indices), d.mutate(data))
    return Case("_core.fastrp_embedding", _core().fastrp_embedding, args, kwargs)


def projection_args(d: Draw) -> tuple[Any, Any, Any, Any]:
    """(num_nodes, dim, sparsity, seed), sometimes asking for huge memory."""
    n, dim = d.integer(0, 50), d.integer(1, 64)
    if d.chance(0.05):
        elems = d.huge_bytes() // 4
        n = int(max(1, math.sqrt(elems) * 10 ** d.rng.uniform(-1, 1)))
        dim = int(max(1, elems // n))
        if d.chance(0.2):
            d.tags.add("overflow")  # n * dim * 4 bytes overflows 64 bits
            n, dim = d.pick([(2**62, 2**20), (2**63, 2), (2**40, 2**31), (2**64 - 1, 2**32 - 1)])
    sparsity = d.pick([1.0, 3.0, float(d.rng.uniform(1, 1000))])
    if d.chance(0.1):
        d.tags.add("extreme")
        sparsity = d.pick([10 ** d.rng.uniform(0, 300), 0.5, 0.0, -1.0, math.nan, math.inf, "3"])
    return n, dim, sparsity, d.integer(0, 2**63 - 1)


@entry("core.fastrp_projection")
def _projection_core(d: Draw) -> Case:
    args = projection_args(d)
    if d.chance(0.5):
        return Case("_core.fastrp_projection", _core().fastrp_projection, args)
    return Case("_core.fastrp_projection", _core().fastrp_projection, args[:3])


@entry("graph.random_projection")
def _projection_wrapper(d: Draw) -> Case:
    from sciml.graph import random_projection

    args = projection_args(d)
    return Case("sciml.graph.random_projection", random_projection, args)


_KARATE: list[Any] = []


def random_graph(d: Draw) -> Any:
    """A graph in one of FastRP's input forms (scipy.sparse, networkx, edge_index tuple),
    rarely the karate club graph or something that is not a graph."""
    import networkx as nx
    import scipy.sparse as sp
    import torch

    if d.chance(0.1):
        if not _KARATE:
            _KARATE.append(nx.karate_club_graph())
        return _KARATE[0].copy()
    n = d.count(25)
    rows, cols = random_edges(d, n)
    values = edge_values(d, rows.size)
    form = d.pick(["scipy", "scipy", "networkx", "networkx", "edge_index", "edge_index", "bad"])
    d.tags.add(f"graph_{form}")
    if form == "scipy":
        v = np.ones(rows.size) if values is None else values
        if d.chance(0.05):
            v = v.astype(d.pick([np.complex128, object, np.float16]))
        make = d.pick([sp.csr_array, sp.csr_matrix, sp.coo_array, sp.csc_matrix])
        if d.chance(0.05):
            d.tags.add("mismatch")
            return make(sp.coo_array((np.ones(0), (rows[:0], cols[:0])), shape=(n, n + 1)))
        try:
            return make(sp.coo_array((v, (rows, cols)), shape=(n, n)))
        except Exception:  # a dtype scipy itself refuses: use a plain matrix instead
            return sp.coo_array((np.ones(rows.size), (rows, cols)), shape=(n, n))
    if form == "networkx":
        g: Any = d.pick([nx.Graph, nx.DiGraph, nx.MultiGraph])()
        g.add_nodes_from(d.pick([range(n), [f"n{i}" for i in range(n)]]))
        nodes = list(g.nodes)
        for k, (i, j) in enumerate(zip(rows, cols, strict=True)):
            if values is None:
                g.add_edge(nodes[i], nodes[j])
            else:
                w = values[k].item()
                g.add_edge(nodes[i], nodes[j], weight=d.pick([w] * 20 + ["x", None]))
        return g
    if form == "edge_index":
        ei: Any = np.stack([rows, cols]).astype(d.pick([np.int64, np.int32, np.int64]))
        ei = d.mutate(ei, 0.1)
        if isinstance(ei, np.ndarray) and ei.dtype.kind in "iub" and d.chance(0.3):
            ei = torch.from_numpy(ei.copy())  # a fresh array: positive strides
        num_nodes = d.integer(n, n + 2)
        if values is None or d.chance(0.3):
            return (ei, num_nodes)
        return (ei, num_nodes, d.mutate(values, 0.1))
    return d.pick([None, [[0, 1]], np.eye(3), {"a": 1}, "graph", (np.zeros((2, 1)),)])


def fastrp_params(d: Draw, n_hint: int) -> dict[str, Any]:
    """FastRP's keyword arguments, sometimes asking for a huge embedding."""
    weights: Any = [d.real(d.pick([1.0, 1.0, 10.0, 1e30])) for _ in range(d.count(4, 1))]
    if d.chance(0.03):
        d.tags.add("bad_type")
        weights = d.pick(["12", (), np.array([1.0, 2.0]), None, [1.0, "x"], 3.0, (x for x in [1])])
    dim = d.integer(1, 48)
    if d.chance(0.03):
        dim = int(min(2**40, max(1, d.huge_bytes() // (12 * max(n_hint, 1)))))
    params: dict[str, Any] = {"dim": dim, "weights": weights}
    params |= _options(
        d,
        beta=d.real(d.pick([0.5, 2.0])),
        normalize=d.option([True, False], [1, None, "yes"]),
        s=d.option(["sqrt", 1.0, 3.0, float(d.rng.uniform(1, 50))], [0.5, 0, -1, "3", math.nan]),
        seed=d.integer(0, 2**63 - 1),
        variant=d.option(["paper", "gds"]),
        self_influence=d.real(),
        standardize=d.option([None, True, False], [1, "yes"]),
        symmetrize=d.option([False, True], [1, None]),
        low_memory=d.option([None, True, False], [1, "no"]),
    )
    return params


def _fastrp_fit(graph: Any, gds: bool = False, **params: Any) -> Any:
    from sciml.graph import FastRP

    if gds:
        model = FastRP.gds(
            dim=params.get("dim", 128),
            iteration_weights=params.get("weights", (0.0, 1.0, 1.0)),
            normalization_strength=params.get("beta", 0.0),
            node_self_influence=params.get("self_influence", 0.0),
            seed=params.get("seed", 0),
            symmetrize=params.get("symmetrize", False),
            low_memory=params.get("low_memory"),
        )
    else:
        model = FastRP(**params)
    return model.fit_transform(graph)


@entry("graph.FastRP", torch=True)
def _fastrp_wrapper(d: Draw) -> Case:
    graph = random_graph(d)
    n_hint = graph.number_of_nodes() if hasattr(graph, "number_of_nodes") else 25
    params = fastrp_params(d, n_hint)
    label = "sciml.graph.FastRP(**kw).fit_transform"
    if d.chance(0.2):
        params["gds"] = True
        label = "sciml.graph.FastRP.gds(**kw).fit_transform"
    return Case(label, _fastrp_fit, (graph,), params)


# --- GTE


def gte_args(d: Draw) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Positional arguments of ``_core.gte_scores`` / ``gte_topk`` up to ``item_stop``: R and
    R^T in CSR (sometimes corrupted or inconsistent), n_items, coefficients, users and an
    item range; sometimes huge sizes that must give MemoryError; and the chunk keyword."""
    import scipy.sparse as sp

    n_users, n_items = d.count(15), d.count(15)
    dtype = d.pick([np.float32, np.float64])
    dense = (d.rng.random((n_users, n_items)) < d.rng.uniform(0, 0.6)).astype(np.float64)
    if d.chance(0.5):
        dense *= d.rng.uniform(0.1, 3.0, dense.shape)
    if d.chance(0.05):
        d.tags.add("extreme")
        dense *= 10 ** d.rng.uniform(0, 300)
    with np.errstate(all="ignore"):
        r = sp.csr_array(dense.astype(dtype), shape=(n_users, n_items))
    rt = sp.csr_array(r.T)
    rt.sort_indices()
    index = d.pick([np.int32, np.int64])
    indptr, indices, data = r.indptr.astype(np.int64), r.indices.astype(index), r.data
    t_indptr, t_indices, t_data = rt.indptr.astype(np.int64), rt.indices.astype(index), rt.data
    if d.chance(0.1):
        indptr, indices, data = corrupt_csr(d, n_items, indptr, indices, data)
    if d.chance(0.05) and data is not None and data.size:
        d.tags.add("special")
        data = data.copy()
        data[int(d.rng.integers(data.size))] = d.pick([math.nan, math.inf, -1.0])
    if d.chance(0.05):
        d.tags.add("inconsistent")
        t_indptr, t_indices, t_data = d.pick(
            [
                (indptr, indices, data),
                (t_indptr[:-1], t_indices, t_data),
                (t_indptr, t_indices, t_data[:-1]),
            ]
        )
    layers = int(d.rng.integers(1, 7))
    coeffs: Any = [float(c) for c in np.array(_gte_polynomial(layers))]
    if d.chance(0.05):
        d.tags.add("bad_coeffs")
        coeffs = d.pick([[], [math.nan], [1e300, 1e300, 1e300], [1.0, -2.0], "1", None])
    users = d.rng.integers(0, max(n_users, 1), d.count(12)).astype(np.int64)
    if d.chance(0.05):
        d.tags.add("bad_users")
        users = d.pick([users - 100, users + n_users, users.astype(np.float64), users[:, None]])
    start = int(d.rng.integers(0, n_items + 1))
    stop = int(d.rng.integers(start, n_items + 1))
    if d.chance(0.03):
        start, stop = d.pick([(stop + 1, stop), (0, n_items + 1), (-1, 2), (0, 2**70)])
    n_items_arg: Any = n_items
    if d.chance(0.03):
        # huge: a catalogue of millions of items and many users asks for far too much
        d.tags.add("huge")
        n_items_arg = int(d.rng.integers(2_000_000, 5_000_000))
        t_indptr, t_indices, t_data = np.zeros(n_items_arg + 1, np.int64), indices[:0], data[:0]
        indptr, indices, data = np.zeros(2, np.int64), indices[:0], data[:0]
        users = np.zeros(int(d.rng.integers(10_000, 100_000)), np.int64)
        start, stop = 0, n_items_arg
    chunk: Any = d.pick([1, 2, 3, 7, 64])
    if "huge" in d.tags:  # buffers of n_items x n_items: far over any memory
        chunk = 2**40
    elif d.chance(0.05):
        d.tags.add("bad_chunk")
        chunk = d.pick([0, -1, 2**40, 2.5, None])
    args = (
        indptr,
        indices,
        data,
        t_indptr,
        t_indices,
        t_data,
        n_items_arg,
        coeffs,
        users,
        start,
        stop,
    )
    return tuple(d.mutate(a) for a in args), {"chunk": chunk}


def _gte_polynomial(layers: int) -> list[int]:
    """GTE's q_L (as ``sciml.graph.gte_polynomial``, without importing torch)."""
    p, q = [1], [0]
    for _ in range(layers):
        n = max(len(p), len(q)) + 1
        p, q = (
            [(p[i] if i < len(p) else 0) + (q[i - 1] if 0 < i <= len(q) else 0) for i in range(n)],
            [(p[i] if i < len(p) else 0) + (q[i] if i < len(q) else 0) for i in range(n)],
        )
    while len(q) > 1 and q[-1] == 0:
        q.pop()
    return q


@entry("core.gte_scores")
def _gte_scores_core(d: Draw) -> Case:
    args, kwargs = gte_args(d)
    return Case("_core.gte_scores", _core().gte_scores, args, kwargs)


@entry("core.gte_topk")
def _gte_topk_core(d: Draw) -> Case:
    args, kwargs = gte_args(d)
    m = len(args[8]) if hasattr(args[8], "__len__") else 1
    k = d.count(6)
    ids = np.full((m, k), -1, np.int64)
    dtype = args[2].dtype if isinstance(args[2], np.ndarray) else np.float32
    scores = np.zeros((m, k), dtype)
    if d.chance(0.05):
        d.tags.add("bad_state")
        ids, scores = d.pick(
            [(ids[:, :1], scores), (ids, scores.astype(np.float16)), (ids[:1], scores[:1])]
        )
    kwargs["exclude_seen"] = d.option([True, False], [1, None, "yes"])
    return Case(
        "_core.gte_topk", _core().gte_topk, (*args, d.mutate(ids), d.mutate(scores)), kwargs
    )


# --- meshes


def grid_mesh(d: Draw, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A jittered structured mesh of the unit square (triangles, counter-clockwise) or cube
    (Kuhn tetrahedra): points (N, dim), cells (M, dim + 1) int64 and, in 2D, the boundary
    nodes in counter-clockwise order."""
    cells: np.ndarray
    vid: np.ndarray
    if dim == 2:
        nx_, ny = 2 + d.count(6), 2 + d.count(6)
        i, j = np.meshgrid(np.arange(nx_), np.arange(ny), indexing="ij")
        pts = np.stack([i.ravel() / (nx_ - 1), j.ravel() / (ny - 1)], 1)
        vid = np.arange(nx_ * ny).reshape(nx_, ny)
        a, b, c, e = vid[:-1, :-1], vid[1:, :-1], vid[1:, 1:], vid[:-1, 1:]
        cells = np.concatenate([np.stack([a, b, c], -1), np.stack([a, c, e], -1)]).reshape(-1, 3)
        boundary = np.concatenate(
            [vid[:, 0], vid[-1, 1:], vid[-2::-1, -1], vid[0, -2:0:-1]]
        )  # bottom, right, top (leftwards), left (downwards)
        h = min(1 / (nx_ - 1), 1 / (ny - 1))
    else:
        k = 2 + d.count(3)
        axes = np.meshgrid(*[np.arange(k)] * 3, indexing="ij")
        pts = np.stack([a.ravel() / (k - 1) for a in axes], 1)
        vid = np.arange(k**3).reshape(k, k, k)
        tets = []
        for p in [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0)]:
            corner = [0, 0, 0]
            path = [vid[:-1, :-1, :-1]]
            for axis in p:
                corner[axis] = 1
                path.append(vid[tuple(slice(c, k - 1 + c) for c in corner)])
            tets.append(np.stack(path, -1).reshape(-1, 4))
        cells = np.concatenate(tets)
        boundary = np.zeros(0, np.int64)
        h = 1 / (k - 1)
    inner = np.all((pts > 1e-9) & (pts < 1 - 1e-9), axis=1)
    pts[inner] += d.rng.uniform(-0.2, 0.2, (int(inner.sum()), dim)) * h
    return pts, cells.astype(np.int64), boundary


def place(d: Draw, pts: np.ndarray) -> np.ndarray:
    """Points scaled (maybe anisotropically or to extreme magnitudes), rotated and moved."""
    dim = pts.shape[1]
    scale = np.full(dim, d.scale())
    if d.chance(0.2):
        d.tags.add("anisotropic")
        scale[int(d.rng.integers(dim))] = d.scale()
    q, _ = np.linalg.qr(d.rng.standard_normal((dim, dim)))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1  # a rotation keeps the orientation of the cells
    with np.errstate(all="ignore"):
        out = (pts * scale) @ q.T if d.chance(0.5) else pts * scale
        if d.chance(0.3):
            out = out + d.rng.standard_normal(dim) * d.pick([1.0, 100.0, d.scale()])
    return out


def corrupt_mesh(d: Draw, pts: np.ndarray, cells: np.ndarray) -> tuple[Any, Any]:
    """One defect: bad indices, a degenerate, dropped or inverted cell, NaN, an unused
    point, random cells or wrong columns."""
    how = d.pick(
        ["range", "negative", "repeat", "drop", "invert", "nan", "unused", "random", "columns"]
    )
    d.tags.add(f"corrupt_{how}")
    pts, cells = pts.copy(), cells.copy()
    m, n = len(cells), len(pts)
    r = int(d.rng.integers(m)) if m else 0
    if how == "range" and m:
        cells[r, 0] = d.pick([n, n + 7, 2**31, 2**62])
    elif how == "negative" and m:
        cells[r, -1] = d.pick([-1, -(2**31)])
    elif how == "repeat" and m:
        cells[r, 1] = cells[r, 0]
    elif how == "drop" and m:
        cells = np.delete(cells, r, 0)
    elif how == "invert" and m:
        cells[r, [0, 1]] = cells[r, [1, 0]]
    elif how == "nan" and n:
        pts[int(d.rng.integers(n)), 0] = d.pick([math.nan, math.inf, -math.inf])
    elif how == "unused":
        pts = np.concatenate([pts, pts[:1] + 0.5])
    elif how == "random" and n:
        cells = d.rng.integers(0, n, cells.shape)
    elif how == "columns":
        cells = cells[:, :-1] if d.chance(0.5) else pts
    return pts, cells


def overlapping_triangles(d: Draw) -> tuple[np.ndarray, np.ndarray]:
    """m long thin triangles along one diagonal: every bounding box covers the whole grid
    of bins, so bins times elements grows as m^2."""
    d.tags.add("huge")
    d.tags.add("overlapping")
    m = int(10 ** d.rng.uniform(1, 4.6))
    t = np.linspace(0, 1e-3, m)
    a = np.stack([t, np.zeros(m)], 1)
    b = np.stack([np.ones(m), 1 + t], 1)
    c = np.stack([np.ones(m), 1 + t + 1e-4], 1)
    cells = np.arange(3 * m).reshape(3, m).T.copy()
    return np.concatenate([a, b, c]), cells


def transfer_args(d: Draw) -> tuple[Any, Any, Any]:
    """(src_points, src_cells, dst_points): a mesh and points inside, on and off it."""
    if d.chance(0.02):
        pts, cells = overlapping_triangles(d)
        return pts, cells, d.rng.uniform(0, 1, (d.count(20, 1), 2))
    dim = d.pick([2, 2, 3])
    pts, cells, _ = grid_mesh(d, dim)
    if d.chance(0.1):
        pts, cells = corrupt_mesh(d, pts, cells)
    nd = d.count(30)
    dst = d.rng.uniform(-0.5, 1.5, (nd, dim))
    if nd and d.chance(0.3):
        on = d.rng.integers(0, len(pts), nd)
        dst = np.where(d.rng.random((nd, 1)) < 0.5, pts[on % len(pts)][:, :dim], dst)
    if nd and d.chance(0.05):
        d.tags.add("far")
        dst[0] = d.pick([1e300, -1e300, 1e150]) * np.ones(dim)
    both = place(d, np.concatenate([pts[:, :dim] if pts.ndim == 2 else pts, dst]))
    src, dst = both[: len(pts)], both[len(pts) :]
    if d.chance(0.05):
        dst = d.floats((nd, dim), scale=d.scale(), special=0.5)
    if d.chance(0.03):
        cells = cells[:0]
    return src, cells, dst


@entry("core.transfer_matrix")
def _transfer_core(d: Draw) -> Case:
    src, cells, dst = transfer_args(d)
    if isinstance(cells, np.ndarray) and d.chance(0.3):
        cells = cells.astype(np.int32)
    args = (d.mutate(src), d.mutate(cells), d.mutate(dst))
    return Case("_core.transfer_matrix", _core().transfer_matrix, args)


def mesh_input(d: Draw, a: Any) -> Any:
    """An array-like input of a mesh wrapper: the array, a mutated one, or a list."""
    if isinstance(a, np.ndarray) and d.chance(0.05):
        d.tags.add("list")
        return a.tolist()
    if isinstance(a, np.ndarray) and d.chance(0.05):
        d.tags.add("dtype")
        with np.errstate(all="ignore"):
            return a.astype(d.pick([np.float32, np.int64, np.uint64, np.int8, np.float64]))
    return d.mutate(a)


@entry("mesh.transfer_matrix")
def _transfer_wrapper(d: Draw) -> Case:
    from sciml.mesh import transfer_matrix

    args = tuple(mesh_input(d, a) for a in transfer_args(d))
    return Case("sciml.mesh.transfer_matrix", transfer_matrix, args)


def floater_args(d: Draw) -> tuple[Any, ...]:
    """(points, triangles) of a disk-like mesh, and sometimes (landmarks, angles)."""
    pts, cells, boundary = grid_mesh(d, 2)
    pts = place(d, pts)
    if d.chance(0.05):
        d.tags.add("mirrored")
        pts[:, 0] *= -1
    if d.chance(0.1):
        pts, cells = corrupt_mesh(d, pts, cells)
    if not d.chance(0.3):
        return pts, cells
    k = d.count(min(6, len(boundary)), 1)
    at = np.sort(d.rng.choice(len(boundary), k, replace=False))
    landmarks = boundary[at]
    start = float(d.rng.uniform(-10, 10))
    steps = d.rng.uniform(0.05, 1, k)
    angles = start + np.cumsum(steps) / steps.sum() * 2 * np.pi * d.rng.uniform(0.5, 0.99)
    if d.chance(0.2):
        how = d.pick(["order", "nan", "interior", "duplicate", "length", "huge", "alone"])
        d.tags.add(f"landmarks_{how}")
        if how == "order":
            angles = angles[::-1].copy()
        elif how == "nan":
            angles[0] = d.pick([math.nan, math.inf])
        elif how == "interior":
            landmarks = landmarks.copy()
            landmarks[0] = d.pick([len(pts) // 2, len(pts), -1])
        elif how == "duplicate":
            landmarks, angles = np.append(landmarks, landmarks[:1]), np.append(angles, angles[-1])
        elif how == "length":
            angles = angles[:-1]
        elif how == "huge":
            angles = angles + d.pick([1e300, 1e17, -1e300])
        else:
            return pts, cells, landmarks, None
    return pts, cells, landmarks, angles


@entry("core.floater_morph")
def _floater_core(d: Draw) -> Case:
    args = list(floater_args(d))
    if d.chance(0.3):
        args[1] = args[1].astype(np.int32)
    return Case("_core.floater_morph", _core().floater_morph, tuple(d.mutate(a) for a in args))


@entry("mesh.floater_morph")
def _floater_wrapper(d: Draw) -> Case:
    from sciml.mesh import floater_morph

    args = tuple(mesh_input(d, a) for a in floater_args(d))
    return Case("sciml.mesh.floater_morph", floater_morph, args)


def rbf_args(d: Draw) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """(points, control_points, control_displacements) and kernel options."""
    dim = d.pick([2, 3])
    sp_ = d.scale()
    points = d.floats((d.count(20), dim), scale=sp_)
    b = d.count(10)
    if d.chance(0.02):
        d.tags.add("huge")  # B^2 floats for the dense system: far beyond any RAM
        b = int(10 ** d.rng.uniform(5, 5.5))
    controls = d.floats((b, dim), scale=sp_ * float(10 ** d.rng.uniform(-1, 1)))
    if b >= 2 and d.chance(0.05):
        how = d.pick(["duplicate", "collinear", "close"])
        d.tags.add(f"controls_{how}")
        if how == "duplicate":
            controls[1] = controls[0]
        elif how == "collinear":
            controls = np.outer(d.rng.standard_normal(b), d.rng.standard_normal(dim)) * sp_
        else:
            controls[1] = controls[0] * (1 + 1e-15)
    displacements = d.floats((d.off(b), d.off(dim, 0.02)), scale=d.scale())
    kernel = d.option(["thin_plate", "thin_plate", "wendland"])
    kwargs: dict[str, Any] = {"kernel": kernel} if kernel != "thin_plate" or d.chance(0.5) else {}
    if kernel == "wendland" or d.chance(0.03):
        kwargs["support_radius"] = d.pick(
            [sp_ * float(10 ** d.rng.uniform(-1, 1.5))] * 6
            + [d.real(), 10 ** d.rng.uniform(-300, 300)]
        )
    return (points, controls, displacements), kwargs


@entry("core.rbf_morph")
def _rbf_core(d: Draw) -> Case:
    args, kwargs = rbf_args(d)
    return Case("_core.rbf_morph", _core().rbf_morph, tuple(d.mutate(a) for a in args), kwargs)


@entry("mesh.rbf_morph")
def _rbf_wrapper(d: Draw) -> Case:
    from sciml.mesh import rbf_morph

    args, kwargs = rbf_args(d)
    return Case("sciml.mesh.rbf_morph", rbf_morph, tuple(mesh_input(d, a) for a in args), kwargs)


def measure_args(d: Draw) -> tuple[Any, Any]:
    """(points, cells): a placed grid mesh, or random cells over random points."""
    dim = d.pick([2, 3])
    if d.chance(0.5):
        pts, cells, _ = grid_mesh(d, dim)
        pts = place(d, pts)
    else:
        pts = d.floats((d.count(12), dim), scale=d.scale())
        m = d.count(15)
        hi = max(len(pts), 1)
        cells = d.rng.integers(0, hi, (m, d.off(dim + 1, 0.05)))
    if d.chance(0.1):
        pts, cells = corrupt_mesh(d, pts, cells)
    return pts, cells


@entry("core.signed_measures")
def _measures_core(d: Draw) -> Case:
    pts, cells = measure_args(d)
    if isinstance(cells, np.ndarray) and d.chance(0.3):
        cells = cells.astype(np.int32)
    return Case("_core.signed_measures", _core().signed_measures, (d.mutate(pts), d.mutate(cells)))


@entry("mesh.signed_measures")
def _measures_wrapper(d: Draw) -> Case:
    from sciml.mesh import signed_measures

    args = tuple(mesh_input(d, a) for a in measure_args(d))
    return Case("sciml.mesh.signed_measures", signed_measures, args)


def _quality_non_finite(q: Any) -> list[str]:
    """MeshQuality's measures are documented NaN for a mesh without cells."""
    if q.n_cells == 0:
        return []
    return non_finite_outputs((q.min_measure, q.max_measure), "quality")


@entry("mesh.mesh_quality")
def _quality_wrapper(d: Draw) -> Case:
    from sciml.mesh import mesh_quality

    pts, cells = measure_args(d)
    args: tuple[Any, ...] = (mesh_input(d, pts), mesh_input(d, cells))
    if isinstance(pts, np.ndarray) and d.chance(0.4):
        reference = pts + d.rng.normal(0, 0.01, pts.shape) * d.pick([1.0, 0.0, 100.0])
        args = (*args, mesh_input(d, reference if d.chance(0.9) else reference[:-1]))
    return Case("sciml.mesh.mesh_quality", mesh_quality, args, check=_quality_non_finite)


# --- the fuzzer's own checks: a crash, a hang, an unexpected error, a non-finite output


def _misbehave(index: int) -> float:
    if index == 1:
        raise RuntimeError("not a clean error")
    if index == 2:
        os.abort()
    if index == 3:
        return math.nan
    if index == 4:
        time.sleep(3600)
    return 1.0


SELF_TESTS = {
    "selftest.misbehave": Entry(
        "selftest.misbehave",
        lambda d: Case("_misbehave", _misbehave, (d.index,)),
    ),
}


# ---------------------------------------------------------------------------- one run


def new_counts(name: str) -> dict[str, Any]:
    return {
        "entry": name,
        "calls": 0,
        "returned": 0,
        "clean_errors": {cls.__name__: 0 for cls in CLEAN_ERRORS},
        "unexpected_count": 0,
        "unexpected_by_kind": {},
        "unexpected": [],
        "non_finite_count": 0,
        "non_finite": [],
        "crashes": 0,
        "hangs": 0,
        "failures": [],
        "fuzzer_errors": [],
        "unchecked": 0,
        "warnings": {},
        "by_tag": {},
        "seconds": 0.0,
        "slowest_call": {"seconds": 0.0, "index": None},
    }


def merge(total: dict[str, Any], part: dict[str, Any]) -> dict[str, Any]:
    """Adds the counts of ``part`` into ``total`` (lists keep their first few items)."""
    for key, value in part.items():
        if key == "entry":
            continue
        if key == "slowest_call":
            if value["seconds"] > total[key]["seconds"]:
                total[key] = value
        elif isinstance(value, dict):
            merge(total.setdefault(key, {}), value)
        elif isinstance(value, list):
            cap = None if key in ("failures", "fuzzer_errors") else KEPT
            total.setdefault(key, []).extend(value)
            total[key] = total[key][:cap]
        elif isinstance(value, int | float):
            total[key] = total.get(key, 0) + value
    return total


def _bump(counter: dict[str, Any], key: str, by: int = 1) -> None:
    counter[key] = counter.get(key, 0) + by


def headroom_bytes() -> int | None:
    """Address space left under RLIMIT_AS (capped), None without a limit."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    return max(0, min(soft - vm, MAX_HEADROOM))


def write_state(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


def run_cases(
    name: str,
    start: int,
    stop: int,
    seed: int,
    state_path: Path | None = None,
    call_timeout_s: float | None = None,
    verbose: bool = False,
) -> dict[str, Any]:
    """Runs cases ``start..stop`` of one entry point in this process and counts outcomes.

    With ``state_path``, the counts so far and the input of the current call are written
    there before each call; with ``call_timeout_s``, a call running longer makes
    faulthandler dump the stack (to ``state_path`` + ``.trace``) and exit the process.
    """
    entry_ = ENTRIES.get(name) or SELF_TESTS[name]
    if entry_.torch:
        import torch

        torch.set_num_threads(1)
    counts = new_counts(name)
    trace = open(f"{state_path}.trace", "w") if state_path else sys.stderr
    faulthandler.enable(file=trace)
    headroom = headroom_bytes()
    began = time.perf_counter()
    for index in range(start, stop):
        draw = Draw(np.random.default_rng([seed, index]), headroom, index)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                case = entry_.make(draw)
        except Exception as e:  # a bug of this file, not of sciml: reported, not fatal
            counts["fuzzer_errors"].append({"index": index, "error": f"{type(e).__name__}: {e}"})
            continue
        text = describe_case(case)
        finite = all_finite((case.args, case.kwargs))
        if state_path:
            write_state(state_path, {"index": index, "counts": counts, "input": text})
        if verbose:
            print(f"[{index}] tags={sorted(draw.tags)} {text}", flush=True)
        if call_timeout_s:
            faulthandler.dump_traceback_later(call_timeout_s, exit=True, file=trace)
        t0 = time.perf_counter()
        outcome, detail, result = _call(case)
        elapsed = time.perf_counter() - t0
        faulthandler.cancel_dump_traceback_later()
        counts["calls"] += 1
        for w in detail.pop("warnings"):
            _bump(counts["warnings"], w)
        if outcome == "returned":
            counts["returned"] += 1
            try:
                bad = case.check(result) if case.check else non_finite_outputs(result)
            except MemoryError:  # no room left to check a result this large
                bad = []
                counts["unchecked"] += 1
            if bad and finite:
                outcome = "non_finite"
                counts["non_finite_count"] += 1
                if len(counts["non_finite"]) < KEPT:
                    counts["non_finite"].append({"index": index, "outputs": bad, "input": text})
        elif outcome == "unexpected":
            counts["unexpected_count"] += 1
            _bump(counts["unexpected_by_kind"], detail["kind"])
            if len(counts["unexpected"]) < KEPT:
                counts["unexpected"].append(
                    {"index": index, "error": detail["error"], "input": text}
                )
        else:
            counts["clean_errors"][outcome] += 1
        for tag in draw.tags or {"plain"}:
            _bump(counts["by_tag"].setdefault(tag, {}), outcome)
        if elapsed > counts["slowest_call"]["seconds"]:
            counts["slowest_call"] = {"seconds": round(elapsed, 3), "index": index}
        if verbose:
            print(f"    -> {outcome} {detail.get('error', '')} ({elapsed:.3f} s)", flush=True)
        del result, case
    counts["seconds"] = round(time.perf_counter() - began, 3)
    return counts


def _call(case: Case) -> tuple[str, dict[str, Any], Any]:
    """(outcome, details, result) of one call; outcome "returned", a clean error's name or
    "unexpected"."""
    detail: dict[str, Any] = {"warnings": []}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = case.func(*case.args, **case.kwargs)
            outcome = "returned"
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as e:  # a Rust panic arrives as a BaseException
            result = None
            clean = next((c for c in CLEAN_ERRORS if isinstance(e, c)), None)
            outcome = clean.__name__ if clean else "unexpected"
            detail["kind"] = type(e).__name__
            detail["error"] = f"{type(e).__name__}: {str(e)[:300]}"
    detail["warnings"] = [w.category.__name__ for w in caught]
    return outcome, detail, result


# ---------------------------------------------------------------------------- the runner


def _limit_child(limit_bytes: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort must not dump GiBs

    return apply


def default_limit_gb(name: str) -> float:
    return TORCH_LIMIT_GB if (ENTRIES.get(name) or SELF_TESTS[name]).torch else NUMPY_LIMIT_GB


def _child_env() -> dict[str, str]:
    """This environment, with the directory of the sciml this process would import first
    on PYTHONPATH (an installed one, or the source tree), and two kernel threads."""
    env = dict(os.environ)
    env.setdefault("SCIML_NUM_THREADS", "2")
    spec = importlib.util.find_spec("sciml")
    if spec is not None and spec.origin:
        root = str(Path(spec.origin).resolve().parents[1])
        env["PYTHONPATH"] = os.pathsep.join(p for p in [root, env.get("PYTHONPATH")] if p)
    return env


def run_entry(
    name: str,
    profile: Profile,
    workdir: Path,
    memory_limit_gb: float | None = None,
    examples: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Fuzzes one entry point in subprocesses under RLIMIT_AS; restarts after a crash or a
    hang at the next case, up to ``profile.max_failures`` times. Returns merged counts."""
    examples = profile.examples if examples is None else examples
    seed = profile.seed if seed is None else seed
    limit_gb = memory_limit_gb or default_limit_gb(name)
    total = new_counts(name)
    total |= {"memory_limit_gb": limit_gb, "seed": seed, "stopped_early": False}
    env = _child_env()
    began = time.perf_counter()
    start = 0
    while start < examples:
        state = workdir / f"{name}.state.json"
        for stale in (state, Path(f"{state}.trace")):
            stale.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--entry", name,
            "--examples", str(examples - start),
            "--start", str(start),
            "--seed", str(seed),
            "--state", str(state),
            "--call-timeout", str(profile.call_timeout_s),
        ]  # fmt: skip
        backstop = 120 + 2.0 * (examples - start)
        try:
            proc = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=backstop,
                env=env,
                preexec_fn=_limit_child(int(limit_gb * GIB)),
            )
            rc, stderr = proc.returncode, proc.stderr
        except subprocess.TimeoutExpired as e:
            err = e.stderr or b""
            rc, proc = None, None
            stderr = err if isinstance(err, str) else err.decode(errors="replace")
        if proc is not None and rc == 0:
            merge(total, json.loads(proc.stdout.strip().splitlines()[-1]))
            break
        failure = _failure(name, rc, stderr, state)
        total["failures"].append(failure)
        if failure.get("counts"):
            merge(total, failure.pop("counts"))
        if failure["kind"] in ("crash", "hang"):
            total["calls"] += 1
            total["crashes" if failure["kind"] == "crash" else "hangs"] += 1
        if failure.get("index") is None or failure["kind"] == "error":
            total["stopped_early"] = True
            break
        start = failure["index"] + 1
        crashes_and_hangs = total["crashes"] + total["hangs"]
        if crashes_and_hangs >= profile.max_failures and start < examples:
            total["stopped_early"] = True
            break
    total["seconds"] = round(time.perf_counter() - began, 1)
    return total


def _failure(name: str, rc: int | None, stderr: str, state: Path) -> dict[str, Any]:
    """What a child that did not finish left: its last input, counts and why it died."""
    trace = Path(f"{state}.trace")
    trace_text = trace.read_text(errors="replace") if trace.exists() else ""
    try:
        last = json.loads(state.read_text())
    except (OSError, ValueError):
        last = {}
    if rc is None or "Timeout (" in trace_text:
        kind, why = "hang", "a call ran past the time limit"
    elif rc < 0:
        kind, why = "crash", f"killed by {signal.Signals(-rc).name}"
    else:
        kind, why = "error", f"exit status {rc} (the fuzzer itself failed)"
    return {
        "entry": name,
        "kind": kind,
        "why": why,
        "index": last.get("index"),
        "input": last.get("input"),
        "counts": last.get("counts"),
        "stderr_tail": stderr[-1500:],
        "trace_tail": trace_text[-1500:],
    }


def is_clean(counts: dict[str, Any], examples: int) -> bool:
    return (
        counts["calls"] >= examples
        and not counts["failures"]
        and not counts["fuzzer_errors"]
        and counts["unexpected_count"] == 0
        and counts["non_finite_count"] == 0
    )


def run_all(
    profile_name: str,
    names: list[str] | None = None,
    examples: int | None = None,
    seed: int | None = None,
    memory_limit_gb: float | None = None,
) -> dict[str, Any]:
    """Every entry point (or ``names``) in its own subprocesses; a JSON-able summary."""
    profile = PROFILES[profile_name]
    want = profile.examples if examples is None else examples
    began = time.perf_counter()
    results = {}
    with tempfile.TemporaryDirectory(prefix="sciml-fuzz-") as tmp:
        for name in names or list(ENTRIES):
            counts = run_entry(name, profile, Path(tmp), memory_limit_gb, examples, seed)
            results[name] = counts
            status = "ok" if is_clean(counts, want) else "FINDINGS"
            print(
                f"{name}: {status} calls={counts['calls']} returned={counts['returned']} "
                f"clean={counts['clean_errors']} unexpected={counts['unexpected_count']} "
                f"non_finite={counts['non_finite_count']} crashes={counts['crashes']} "
                f"hangs={counts['hangs']} ({counts['seconds']} s)",
                file=sys.stderr,
                flush=True,
            )
    return {
        "profile": profile_name,
        "examples": want,
        "ok": all(is_clean(c, want) for c in results.values()),
        "seconds": round(time.perf_counter() - began, 1),
        "entries": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entry", choices=sorted(ENTRIES | SELF_TESTS), help="run one here")
    parser.add_argument("--all", action="store_true", help="every entry point, in subprocesses")
    parser.add_argument("--entries", help="with --all: a comma-separated subset")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="ci")
    parser.add_argument("--examples", type=int, help="calls per entry point")
    parser.add_argument("--start", type=int, default=0, help="first case index (with --entry)")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--memory-limit-gb", type=float)
    parser.add_argument("--state", type=Path, help="(child) where to write the last input")
    parser.add_argument("--call-timeout", type=float, help="(child) seconds per call")
    parser.add_argument("--verbose", action="store_true", help="print every case")
    parser.add_argument("--json-out", type=Path, help="also write the summary here")
    args = parser.parse_args(argv)
    profile = PROFILES[args.profile]
    if args.all:
        names = args.entries.split(",") if args.entries else None
        summary = run_all(args.profile, names, args.examples, args.seed, args.memory_limit_gb)
        text = json.dumps(summary, indent=1, default=str)
        print(text)
        if args.json_out:
            args.json_out.write_text(text)
        return 0 if summary["ok"] else 1
    if not args.entry:
        parser.error("give --entry NAME or --all")
    if args.memory_limit_gb:
        limit = int(args.memory_limit_gb * GIB)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    examples = profile.examples if args.examples is None else args.examples
    seed = profile.seed if args.seed is None else args.seed
    counts = run_cases(
        args.entry, args.start, args.start + examples, seed, args.state, args.call_timeout,
        args.verbose,
    )  # fmt: skip
    print(json.dumps(counts, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
