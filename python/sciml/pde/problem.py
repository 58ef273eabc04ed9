"""Declaring a PDE problem: its domain, residual, conditions and reference solution.

A problem is declared apart from the model that solves it. The residual is a function of
:class:`Fields`, which gives u and the derivatives the residual asks for by axis name::

    def residual(f: Fields) -> Tensor:          # -Δu - k²u - s(x, y) = 0
        return -(f.dd("x") + f.dd("y")) - f.u - source(f.coord("x"), f.coord("y"))

    helmholtz = Problem(
        name="helmholtz",
        domain=Box(x=(-1, 1), y=(-1, 1)),
        residual=residual,
        conditions=[Dirichlet(0.0)],
        reference=exact,
    )
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from sciml.pde.domain import Box, Sampler
from sciml.pde.taylor import Jet

PointFunction = Callable[[Tensor], Tensor]
"""A function of points (N, d) returning values (N,)."""


class Fields:
    """u and its x-derivatives at a batch of points, looked up by axis name.

    All accessors return (N,) tensors for scalar problems, (N, m) for m outputs.
    """

    def __init__(self, x: Tensor, jet: Jet, names: tuple[str, ...]) -> None:
        self.x = x
        self.jet = jet
        self.names = names

    def _squeeze(self, t: Tensor) -> Tensor:
        return t[..., 0] if t.shape[-1] == 1 else t

    @property
    def u(self) -> Tensor:
        return self._squeeze(self.jet.value)

    def coord(self, name: str) -> Tensor:
        """The coordinate ``name`` of the points, (N,)."""
        return self.x[:, self._axis(name)]

    def d(self, name: str) -> Tensor:
        """∂u/∂name."""
        if self.jet.d1 is None:
            raise ValueError("the residual asks for first derivatives: declare order >= 1")
        return self._squeeze(self.jet.d1[:, self._axis(name)])

    def dd(self, name: str) -> Tensor:
        """∂²u/∂name²."""
        if self.jet.d2 is None:
            raise ValueError("the residual asks for second derivatives: declare order = 2")
        return self._squeeze(self.jet.d2[:, self._axis(name)])

    def laplacian(self, *names: str) -> Tensor:
        """Σ ∂²u/∂name² over the given axes."""
        return sum(self.dd(n) for n in names)

    def _axis(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise ValueError(f"no axis {name!r}; the problem's axes are {self.names}") from None


def _evaluate(value: float | PointFunction, x: Tensor) -> Tensor:
    if callable(value):
        return value(x).to(x.device, x.dtype)
    return torch.full((x.shape[0],), float(value), dtype=x.dtype, device=x.device)


@dataclass(kw_only=True)
class Condition(ABC):
    """A boundary or initial condition, enforced by a weighted mean-square penalty.

    ``weight`` and ``points`` are keyword-only: ``Dirichlet(0.0)`` sets the value.
    ``residual`` applies to the points of the latest ``sample``.
    """

    weight: float = 1.0
    points: int | None = None
    """Points sampled for it per resampling (None: the trainer's default)."""

    order = 0
    """The x-derivative order its residual needs."""

    @abstractmethod
    def sample(self, problem: Problem, n: int, generator: torch.Generator | Sampler) -> Tensor:
        """n points (or pairs, for periodicity) where the condition is enforced, (n', d)."""

    @abstractmethod
    def residual(self, fields: Fields, problem: Problem) -> Tensor:
        """What must vanish at the sampled points."""


def _spatial_faces(problem: Problem, faces: str | Sequence[tuple[str, str]]):
    if faces == "all":
        return [(n, s) for n in problem.domain.names if n != problem.time for s in ("low", "high")]
    return list(faces)


def _sample_faces(problem: Problem, faces, n: int, generator: torch.Generator | Sampler) -> Tensor:
    faces = _spatial_faces(problem, faces)
    per_face = -(-n // len(faces))
    return torch.cat([problem.domain.sample_face(a, s, per_face, generator) for a, s in faces])[:n]


@dataclass
class Dirichlet(Condition):
    """u = value on the given spatial faces ("all", or [("x", "low"), ...])."""

    value: float | PointFunction = 0.0
    faces: str | Sequence[tuple[str, str]] = "all"

    def sample(self, problem, n, generator):
        return _sample_faces(problem, self.faces, n, generator)

    def residual(self, fields, problem):
        return fields.u - _evaluate(self.value, fields.x)


@dataclass
class Neumann(Condition):
    """∂u/∂n = value (outward normal) on the given spatial faces."""

    value: float | PointFunction = 0.0
    faces: str | Sequence[tuple[str, str]] = "all"
    order = 1

    def sample(self, problem, n, generator):
        points = _sample_faces(problem, self.faces, n, generator)
        faces = _spatial_faces(problem, self.faces)
        per_face = -(-n // len(faces))
        # The axis and outward sign of each sampled point's face, in sampling order.
        self._axes = torch.tensor([problem.domain.axis(a) for a, _ in faces]).repeat_interleave(
            per_face
        )[:n]
        self._signs = torch.tensor([1.0 if s == "high" else -1.0 for _, s in faces])
        self._signs = self._signs.repeat_interleave(per_face)[:n]
        return points

    def residual(self, fields, problem):
        d1 = fields.jet.d1[:, :, 0]
        axes, signs = self._axes.to(d1.device), self._signs.to(d1.device, d1.dtype)
        du_dn = d1[torch.arange(len(d1), device=d1.device), axes] * signs
        return du_dn - _evaluate(self.value, fields.x)


@dataclass
class Periodic(Condition):
    """u (and ∂u/∂axis when ``derivative``) equal on the two faces of ``axis``."""

    axis: str = "x"
    derivative: bool = True

    @property
    def order(self) -> int:  # type: ignore[override]
        return 1 if self.derivative else 0

    def sample(self, problem, n, generator):
        low = problem.domain.sample_face(self.axis, "low", n, generator)
        high = low.clone()
        high[:, problem.domain.axis(self.axis)] = problem.domain.bounds(self.axis)[1]
        return torch.cat([low, high])

    def residual(self, fields, problem):
        n = fields.x.shape[0] // 2
        parts = [fields.u[:n] - fields.u[n:]]
        if self.derivative:
            du = fields.d(self.axis)
            parts.append(du[:n] - du[n:])
        return torch.cat(parts)


@dataclass
class Initial(Condition):
    """u = value (and ∂u/∂t = derivative, if given) at the start of the time axis."""

    value: float | PointFunction = 0.0
    derivative: float | PointFunction | None = None

    @property
    def order(self) -> int:  # type: ignore[override]
        return 0 if self.derivative is None else 1

    def sample(self, problem, n, generator):
        if problem.time is None:
            raise ValueError(f"problem {problem.name!r} has no time axis for an initial condition")
        return problem.domain.sample_face(problem.time, "low", n, generator)

    def residual(self, fields, problem):
        parts = [fields.u - _evaluate(self.value, fields.x)]
        if self.derivative is not None:
            parts.append(fields.d(problem.time) - _evaluate(self.derivative, fields.x))
        return torch.cat(parts)


@dataclass
class Problem:
    """A PDE problem: domain, residual, conditions and (optionally) a reference solution.

    Args:
        name: a short identifier (used by the command line).
        domain: the space(-time) box; its axis order is the column order of points.
        residual: f(Fields) -> (N,) residual that is zero for the solution.
        order: the highest x-derivative order the residual needs (0, 1 or 2).
        conditions: boundary and initial conditions.
        time: the name of the time axis, if any.
        reference: exact or reference solution, points (N, d) -> (N,).
        evaluation: points per axis of the grid on which errors are measured.
        description: one line for listings.
    """

    name: str
    domain: Box
    residual: Callable[[Fields], Tensor]
    order: int = 2
    conditions: Sequence[Condition] = ()
    time: str | None = None
    reference: PointFunction | None = None
    evaluation: dict[str, int] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if self.order not in (0, 1, 2):
            raise ValueError(f"order must be 0, 1 or 2, got {self.order!r}")
        if self.time is not None:
            self.domain.axis(self.time)
        if self.evaluation is None:
            self.evaluation = {n: 101 if n != self.time else 11 for n in self.domain.names}

    @property
    def dim(self) -> int:
        return self.domain.dim

    def check_residual(self, values: Tensor, n: int) -> Tensor:
        """The residual as (N,) or (N, k); a clear error for anything else."""
        if not isinstance(values, Tensor) or values.shape[:1] != (n,) or values.dim() > 2:
            shape = tuple(values.shape) if isinstance(values, Tensor) else type(values).__name__
            raise ValueError(
                f"the residual of problem {self.name!r} must return a tensor of shape ({n},) "
                f"or ({n}, k) for {n} points, got {shape}"
            )
        return values
