"""References sampled on grids, solved (or loaded from the cache) on first use."""

from __future__ import annotations

from collections.abc import Callable

import torch

from sciml.pde.reference_solvers import GridReference


class LazyGridReference:
    """Calls ``factory()`` the first time it is evaluated, then interpolates the grid it
    returned at points (N, d) given as a torch tensor; returns (N,) float64."""

    def __init__(self, factory: Callable[[], GridReference]) -> None:
        self.factory = factory
        self._grid: GridReference | None = None

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        if self._grid is None:
            self._grid = self.factory()
        values = self._grid(points.detach().double().cpu().numpy())
        return torch.from_numpy(values)
