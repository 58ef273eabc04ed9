"""Box: an axis-aligned domain with named axes, its sampling and its evaluation grids."""

from __future__ import annotations

import torch
from torch import Tensor


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

    def sample(self, n: int, generator: torch.Generator, dtype=torch.float32) -> Tensor:
        """n points uniform in the box, (n, d)."""
        u = torch.rand(n, self.dim, generator=generator, dtype=torch.float64)
        return (self.low + (self.high - self.low) * u).to(dtype)

    def sample_face(
        self, name: str, side: str, n: int, generator: torch.Generator, dtype=torch.float32
    ) -> Tensor:
        """n points uniform on the face where axis ``name`` is at its ``side``
        ("low" or "high"), (n, d)."""
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
