"""Box: an axis-aligned domain with named axes, its sampling and its evaluation grids."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Sampling = Literal["uniform", "sobol"]


def check_sampling(method: str) -> None:
    """A ValueError for anything but a known sampling method."""
    if method not in ("uniform", "sobol"):
        raise ValueError(f"sampling must be 'uniform' or 'sobol', got {method!r}")


class Sampler:
    """Draws points in the unit cube: i.i.d. uniform, or the first points of a freshly
    scrambled Sobol sequence (low discrepancy: the collocation points cover the domain
    evenly, so the mean-square residual over them is a much better estimate of its
    integral, and a fixed set of points is far less easily overfitted).

    Every draw takes its randomness from ``generator``, so a run is reproduced by its
    seed and resumed by the generator's state. Wherever a ``torch.Generator`` is taken
    for sampling points, a Sampler may be given instead.
    """

    def __init__(self, generator: torch.Generator, method: Sampling = "uniform") -> None:
        check_sampling(method)
        self.generator = generator
        self.method = method

    def unit(self, n: int, d: int) -> Tensor:
        """n points in [0, 1)^d, float64."""
        if self.method == "uniform":
            return torch.rand(n, d, generator=self.generator, dtype=torch.float64)
        seed = int(torch.randint(0, 2**62, (), generator=self.generator))
        engine = torch.quasirandom.SobolEngine(d, scramble=True, seed=seed)
        return engine.draw(n, dtype=torch.float64)


def _as_sampler(generator: torch.Generator | Sampler) -> Sampler:
    return generator if isinstance(generator, Sampler) else Sampler(generator)


class Box:
    """An axis-aligned box with named axes, in the order given.

    ``Box(t=(0, 10), x=(-1, 1), y=(-1, 1))`` is the space-time box of a 2D problem on
    [-1, 1]² over t ∈ [0, 10]; points are (N, 3) tensors with columns (t, x, y).
    """

    def __init__(self, **bounds: tuple[float, float]) -> None:
        if not bounds:
            raise ValueError("a Box needs at least one axis, e.g. Box(x=(-1, 1))")
        for name, (lo, hi) in bounds.items():
            if not float(lo) < float(hi):
                raise ValueError(f"axis {name!r} must have low < high, got ({lo}, {hi})")
        self.names: tuple[str, ...] = tuple(bounds)
        self.low = torch.tensor([float(b[0]) for b in bounds.values()], dtype=torch.float64)
        self.high = torch.tensor([float(b[1]) for b in bounds.values()], dtype=torch.float64)

    @property
    def dim(self) -> int:
        return len(self.names)

    def axis(self, name: str) -> int:
        """The column of axis ``name``."""
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"no axis {name!r} in a box with axes {self.names}") from None

    def bounds(self, name: str) -> tuple[float, float]:
        j = self.axis(name)
        return float(self.low[j]), float(self.high[j])

    def sample(self, n: int, generator: torch.Generator | Sampler, dtype=torch.float32) -> Tensor:
        """n points in the box, (n, d): uniform for a ``torch.Generator``, else as the
        :class:`Sampler` draws them."""
        u = _as_sampler(generator).unit(n, self.dim)
        return (self.low + (self.high - self.low) * u).to(dtype)

    def sample_face(
        self,
        name: str,
        side: str,
        n: int,
        generator: torch.Generator | Sampler,
        dtype=torch.float32,
    ) -> Tensor:
        """n points on the face where axis ``name`` is at its ``side`` ("low" or
        "high"), (n, d), drawn as by :meth:`sample`."""
        if side not in ("low", "high"):
            raise ValueError(f"side must be 'low' or 'high', got {side!r}")
        x = self.sample(n, generator, torch.float64)
        j = self.axis(name)
        x[:, j] = self.low[j] if side == "low" else self.high[j]
        return x.to(dtype)

    def axes(self, points_per_axis: dict[str, int]) -> list[Tensor]:
        """Evenly spaced float64 coordinates along each axis, ends included."""
        return [
            torch.linspace(
                float(self.low[j]), float(self.high[j]), points_per_axis[name], dtype=torch.float64
            )
            for j, name in enumerate(self.names)
        ]

    def grid(self, points_per_axis: dict[str, int], dtype=torch.float32) -> tuple[Tensor, tuple]:
        """A tensor-product grid of :meth:`axes`: points (M, d) in C order, and its shape."""
        axes = self.axes(points_per_axis)
        mesh = torch.meshgrid(*axes, indexing="ij")
        points = torch.stack([m.reshape(-1) for m in mesh], 1).to(dtype)
        return points, tuple(len(a) for a in axes)

    def __repr__(self) -> str:
        inner = ", ".join(
            f"{n}=({float(lo):g}, {float(hi):g})"
            for n, lo, hi in zip(self.names, self.low, self.high, strict=True)
        )
        return f"Box({inner})"
