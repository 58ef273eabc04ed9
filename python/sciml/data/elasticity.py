"""Plane-strain linear elasticity of a plate under uniaxial tension (scikit-fem)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse.linalg as spla

__all__ = ["TensileSolution", "solve_tension", "von_mises_plane_strain"]


@dataclass(frozen=True)
class TensileSolution:
    """Nodal fields on the vertices of the mesh, each (N,) float64.

    Attributes:
        u1: horizontal displacement.
        u2: vertical displacement.
        von_mises: von Mises stress from the L2-projected (P1) stress components.
        stress: (N, 3) L2-projected sigma_xx, sigma_yy, sigma_xy.
    """

    u1: np.ndarray
    u2: np.ndarray
    von_mises: np.ndarray
    stress: np.ndarray


def von_mises_plane_strain(
    sxx: np.ndarray, syy: np.ndarray, sxy: np.ndarray, nu: float
) -> np.ndarray:
    """Von Mises stress in plane strain, where sigma_zz = nu (sigma_xx + sigma_yy)."""
    szz = nu * (sxx + syy)
    return np.sqrt(0.5 * ((sxx - syy) ** 2 + (syy - szz) ** 2 + (szz - sxx) ** 2) + 3.0 * sxy**2)


def _boundary_facets(mesh, nodes: np.ndarray) -> np.ndarray:
    """Boundary facets of a scikit-fem mesh with both end nodes in ``nodes``."""
    facets = mesh.boundary_facets()
    inside = np.zeros(mesh.nvertices, dtype=bool)
    inside[nodes] = True
    return facets[np.all(inside[mesh.facets[:, facets]], axis=0)]


def _spd_solve(matrix, rhs: np.ndarray) -> np.ndarray:
    """Sparse LU of a symmetric positive definite matrix: a symmetric fill-reducing ordering
    and no pivoting keep the factor about half the size of SuperLU's default one."""
    lu = spla.splu(
        matrix.tocsc(),
        permc_spec="MMD_AT_PLUS_A",
        diag_pivot_thresh=0.0,
        options={"SymmetricMode": True},
    )
    return lu.solve(rhs)


def solve_tension(
    points: np.ndarray,
    triangles: np.ndarray,
    bottom: np.ndarray,
    top: np.ndarray,
    corner: int,
    E: float,
    nu: float,
    P: float,
    order: int = 2,
) -> TensileSolution:
    """Plane-strain isotropic linear elasticity with traction (0, P) on the top side.

    u_y = 0 on the bottom side and u_x = 0 at the node ``corner`` (which removes the rigid
    motions); the other sides are traction-free. Displacements are Lagrange P1 or P2;
    with P2 the nodal values at the mesh vertices are returned. The stress components are
    L2-projected (consistent P1 mass matrix) onto the vertices and von Mises is computed
    from them there.

    Args:
        points: (N, 2) float64 vertices.
        triangles: (M, 3) int64 vertex indices.
        bottom: (B,) int64 vertices on the held side; boundary edges with both ends in it
            carry u_y = 0.
        top: (T,) int64 vertices on the loaded side; boundary edges with both ends in it
            carry the traction.
        corner: the vertex where u_x = 0.
        E: Young's modulus (> 0).
        nu: Poisson ratio in (-1, 0.5).
        P: traction along +y on the top side.
        order: 1 or 2, the polynomial degree of the displacement.

    Returns:
        A :class:`TensileSolution`.
    """
    from skfem import (
        Basis,
        BilinearForm,
        ElementTriP1,
        ElementTriP2,
        ElementVector,
        FacetBasis,
        LinearForm,
        MeshTri,
        asm,
        condense,
    )
    from skfem.models.elasticity import lame_parameters, linear_elasticity

    if order not in (1, 2):
        raise ValueError(f"order must be 1 or 2, got {order}")
    if not (np.isfinite(E) and E > 0):
        raise ValueError(f"E must be finite and > 0, got {E}")
    if not (np.isfinite(nu) and -1.0 < nu < 0.5):
        raise ValueError(f"nu must be in (-1, 0.5), got {nu}")
    if not np.isfinite(P):
        raise ValueError(f"P must be finite, got {P}")

    mesh = MeshTri(
        np.ascontiguousarray(np.asarray(points, dtype=np.float64).T),
        np.ascontiguousarray(np.asarray(triangles, dtype=np.int64).T),
    )
    element = ElementVector(ElementTriP2() if order == 2 else ElementTriP1())
    basis = Basis(mesh, element)
    lam, mu = lame_parameters(E, nu)
    stiffness = asm(linear_elasticity(lam, mu), basis)

    @LinearForm
    def traction(v, w):
        return P * v[1]

    top_basis = FacetBasis(mesh, element, facets=_boundary_facets(mesh, top))
    load = asm(traction, top_basis)

    held = basis.get_dofs(facets=_boundary_facets(mesh, bottom)).all("u^2")
    fixed = np.unique(np.concatenate([held, [basis.nodal_dofs[0, corner]]]))
    matrix, rhs, u, free = condense(stiffness, load, D=fixed)
    u[free] = _spd_solve(matrix, rhs)

    # Stress at the quadrature points, then its L2 projection onto continuous P1.
    grad = basis.interpolate(u).grad  # (2, 2, M, Q): grad[i, j] = d u_i / d x_j
    div = grad[0, 0] + grad[1, 1]
    sxx = 2.0 * mu * grad[0, 0] + lam * div
    syy = 2.0 * mu * grad[1, 1] + lam * div
    sxy = mu * (grad[0, 1] + grad[1, 0])
    scalar = basis.with_element(ElementTriP1())

    @BilinearForm
    def mass(p, q, w):
        return p * q

    @LinearForm
    def moment(q, w):
        return w["s"] * q

    moments = np.stack([asm(moment, scalar, s=s) for s in (sxx, syy, sxy)], axis=1)
    stress = _spd_solve(asm(mass, scalar), moments)
    return TensileSolution(
        u1=np.ascontiguousarray(u[basis.nodal_dofs[0]]),
        u2=np.ascontiguousarray(u[basis.nodal_dofs[1]]),
        von_mises=von_mises_plane_strain(stress[:, 0], stress[:, 1], stress[:, 2], nu),
        stress=stress,
    )
