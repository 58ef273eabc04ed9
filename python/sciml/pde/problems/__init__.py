"""The benchmark problems, by name: ``get_problem("helmholtz")``, ``list_problems()``."""

from __future__ import annotations

from collections.abc import Callable

from sciml.pde.problem import Problem
from sciml.pde.problems.allen_cahn import allen_cahn
from sciml.pde.problems.flow_mixing import flow_mixing
from sciml.pde.problems.helmholtz import helmholtz
from sciml.pde.problems.klein_gordon import klein_gordon
from sciml.pde.problems.nonlinear_diffusion import nonlinear_diffusion
from sciml.pde.problems.poisson import poisson

PROBLEMS: dict[str, Callable[[], Problem]] = {
    "poisson": poisson,
    "helmholtz": helmholtz,
    "klein_gordon": klein_gordon,
    "flow_mixing": flow_mixing,
    "nonlinear_diffusion": nonlinear_diffusion,
    "allen_cahn": allen_cahn,
}


def list_problems() -> list[str]:
    return list(PROBLEMS)


def get_problem(name: str) -> Problem:
    """The problem called ``name``; ValueError listing the known names otherwise."""
    try:
        return PROBLEMS[name]()
    except KeyError:
        raise ValueError(
            f"unknown problem {name!r}; known problems: {', '.join(PROBLEMS)}"
        ) from None
