"""TinvNN initial point representations: classical MDS made invariant to translation,
rotation, reflection and uniform scaling (Zhang, Wang, Zhang, Cui and Zhu, "Revisiting
Transformation Invariant Geometric Deep Learning: Are Initial Representations All You
Need?", arXiv 2112.12345; journal version "... An Initial Representation Perspective").

The paper's claim (abstract, v1 and v2): initial point representations that are
transformation invariant *and* distance preserving suffice to make any network downstream
invariant; TinvNN gets them "by modifying multi-dimensional scaling". Classical MDS
(Torgerson, 1952) already removes translation (double centring) and recovers the points up
to an orthogonal transformation; what the modification must add is a unique choice of that
transformation (the eigenvectors' order, signs, and bases of repeated eigenvalues) and a
normalised scale. Only the abstract of the paper was readable from the sources at hand (the
method section was not), so the fixes below are this module's choices, written down so that
they can be checked; they are the natural ones for the paper's stated goals (exact
invariance, distances preserved, permutation equivariance wherever possible). Read: the
abstracts of arxiv.org/html/2112.12345v2 and of the v1 listing (paperswithcode, deepai);
the authors' code was not found in public repositories.

Construction, for points X (n, D) and output dimension ``dim``::

    Dsq_ij = |x_i - x_j|^2                                  squared distances (n, n)
    B      = -1/2 J Dsq J,  J = I - 11^T/n                  double centring = Xc Xc^T
    B      = U diag(lam) U^T,  lam_1 >= lam_2 >= ... >= 0   eigen-decomposition
    Y      = U diag(sqrt(lam))                              principal coordinates (n, r)
    s      = sqrt(trace(B) / n)                             RMS distance to the centroid
    out    = canonical(Y)[:, :dim] / s                      zero-padded to dim columns

For points, ``B = Xc Xc^T`` with ``Xc`` the centred points, so ``Y`` comes from the thin SVD
``Xc = U S V^T`` (``Y = U S``, ``lam = S^2``): the same numbers as the n x n eigenproblem
at O(n D^2) cost instead of O(n^3). :func:`tinv_mds_from_distances` runs the n x n route
on a given distance matrix (a graph's shortest paths, say), clipping the negative
eigenvalues of a non-Euclidean one to zero.

``canonical`` fixes everything the eigen-decomposition leaves free:

* **order**: eigenvalues in decreasing order (largest spread first).
* **zero eigenvalues** (``lam_k <= zero_tol * lam_1``, e.g. the second axis of collinear
  points, and every axis beyond D or n - 1): the coordinate is set to exactly 0 (default
  ``zero_tol``: 1e-18 for points, whose SVD gives such eigenvalues to ~1e-32 relative, and
  1e-10 for distance matrices, whose n x n eigen-decomposition leaves ~n * 1e-16).
  ``dim`` larger than the cloud's rank therefore pads with zero columns.
* **sign** of a simple eigenvalue's coordinate y: the one that makes its third moment
  ``sum_i y_i^3`` positive (the longer tail points to +). This rule commutes with any
  permutation of the points, so the output is permutation equivariant.
* **ties**: a coordinate whose standardised third moment
  ``|mean(y^3)| / mean(y^2)^{3/2} <= skew_tol`` (a cloud symmetric along that axis, such as
  a rectangle's corners), and a group of eigenvalues closer than ``tie_tol * lam_1`` to one
  another (a square, a circle, a regular polygon: any rotation inside their eigenspace is
  equally valid), have no permutation-invariant answer. The deterministic rule used then
  (``on_ambiguity="index"``): inside the affected eigenspace E (dimension m), walk the
  points in input order and Gram-Schmidt their projections onto E, skipping those whose
  residual is below ``pick_tol`` times the largest projection; the first m picked define
  E's basis (the first picked point lies on the first axis, on its + side, and so on).
  Because projections, norms and indices all survive a rotation, reflection, translation
  or scaling, the output is still exactly invariant; it is no longer permutation
  equivariant (re-ordering the points can change the output by a symmetry of the cloud,
  so the set of output points, and any pooled feature, is unchanged when the symmetry is
  exact). ``on_ambiguity="raise"`` raises a ValueError instead.
* **scale**: division by s, the root-mean-square distance of the points to their centroid,
  computed from all eigenvalues (not only the ``dim`` kept), so the normalisation does not
  depend on ``dim``; every output cloud has ``mean_i |out_i|^2 = 1`` when ``dim`` covers
  its rank. Pairwise distances are then ``|out_i - out_j| = |x_i - x_j| / s`` exactly
  (up to rounding) when ``dim`` is at least the intrinsic dimension, and the best rank-dim
  approximation of them (classical MDS's) otherwise.

Inputs: numpy arrays (or anything ``np.asarray`` takes) give a float64 numpy array; a
torch tensor gives a torch tensor of the same floating dtype (float64 for integer input)
on the same device. The computation runs in float64 numpy on the CPU and is not
differentiable: TinvNN computes the representations once, before the network.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

__all__ = ["tinv_mds", "tinv_mds_batch", "tinv_mds_from_distances"]

Ambiguity = Literal["index", "raise"]

ZERO_TOL = 1e-18  # relative eigenvalue below which a principal axis counts as empty (points)
ZERO_TOL_DISTANCES = 1e-10  # the same for the n x n eigen-decomposition of distances
TIE_TOL = 1e-8  # relative eigenvalue gap below which two axes count as one eigenspace
SKEW_TOL = 1e-7  # standardised third moment below which a sign counts as undetermined
PICK_TOL = 1e-6  # relative projection below which a point cannot define an axis


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def _check_dim(dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
        raise ValueError(f"dim must be an integer >= 1, got {dim!r}")
    if dim < 1:
        raise ValueError(f"dim must be >= 1, got {dim}")
    return int(dim)


def _as_float64(x: Any, name: str) -> np.ndarray:
    if _is_torch(x):
        x = x.detach().cpu().numpy()
    if np.iscomplexobj(x):
        raise ValueError(f"{name} must be real, got a complex array")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{name} must be a real numeric array: {err}") from None
    return arr


def _to_output(out: np.ndarray, like: Any) -> Any:
    if not _is_torch(like):
        return out
    import torch

    dtype = like.dtype if like.is_floating_point() else torch.float64
    return torch.from_numpy(out).to(device=like.device, dtype=dtype)


def _eigenspaces(lam: np.ndarray, tie_tol: float) -> list[tuple[int, int]]:
    """[start, stop) column ranges of the groups of eigenvalues closer than tie_tol*lam_1
    to their neighbour (single linkage over the sorted, decreasing eigenvalues)."""
    groups: list[tuple[int, int]] = []
    start = 0
    for k in range(1, len(lam) + 1):
        if k == len(lam) or lam[k - 1] - lam[k] > tie_tol * lam[0]:
            groups.append((start, k))
            start = k
    return groups


def _index_basis(block: np.ndarray, pick_tol: float) -> np.ndarray | None:
    """An orthonormal basis (m, m) of the columns' space picked by Gram-Schmidt over the
    rows of ``block`` (n, m) in order; None when fewer than m rows are independent."""
    n, m = block.shape
    norms = np.linalg.norm(block, axis=1)
    cutoff = pick_tol * norms.max()
    basis: list[np.ndarray] = []
    for i in range(n):
        if len(basis) == m:
            break
        r = block[i].copy()
        for _ in range(2):  # Gram-Schmidt twice: orthogonal to rounding
            for q in basis:
                r -= (r @ q) * q
        size = np.linalg.norm(r)
        if size > cutoff:
            basis.append(r / size)
    if len(basis) < m:
        return None
    return np.stack(basis, axis=1)


def _canonical(
    y: np.ndarray,
    lam: np.ndarray,
    on_ambiguity: Ambiguity,
    zero_tol: float,
    tie_tol: float,
    skew_tol: float,
    pick_tol: float,
) -> np.ndarray:
    """Principal coordinates y (n, r) with eigenvalues lam (r,) in decreasing order, made
    unique (see the module docstring). Returns a new (n, r) array."""
    y = y.copy()
    keep = lam > zero_tol * lam[0]
    rank = int(np.count_nonzero(keep))  # lam is sorted, so keep is a prefix
    y[:, rank:] = 0.0
    for start, stop in _eigenspaces(lam[:rank], tie_tol):
        block = y[:, start:stop]
        if stop - start == 1:
            col = block[:, 0]
            m2 = np.mean(col * col)
            skew = np.mean(col**3) / m2**1.5
            if abs(skew) > skew_tol:
                if skew < 0:
                    y[:, start] = -col
                continue
            what = f"principal axis {start} has a symmetric distribution (skewness {skew:.1e})"
        else:
            what = (
                f"principal axes {start}..{stop - 1} have equal eigenvalues "
                f"{lam[start:stop].tolist()} (a rotationally symmetric cloud)"
            )
        if on_ambiguity == "raise":
            raise ValueError(
                f"the MDS coordinates are not unique: {what}; pass on_ambiguity='index' to "
                "fix them by the order of the points"
            )
        q = _index_basis(block, pick_tol)
        if q is None:  # cannot happen for a non-degenerate eigenspace; guard anyway
            raise ValueError(f"the MDS coordinates are not unique: {what}")
        y[:, start:stop] = block @ q
    return y


def _finish(
    y: np.ndarray,
    lam: np.ndarray,
    trace: float,
    n: int,
    dim: int,
    on_ambiguity: Ambiguity,
    tols: tuple[float, float, float, float],
) -> np.ndarray:
    if on_ambiguity not in ("index", "raise"):
        raise ValueError(f"on_ambiguity must be 'index' or 'raise', got {on_ambiguity!r}")
    order = np.argsort(-lam, kind="stable")
    lam, y = lam[order], y[:, order]
    y = _canonical(y, lam, on_ambiguity, *tols)
    out = np.zeros((n, dim))
    r = min(dim, y.shape[1])
    out[:, :r] = y[:, :r] / np.sqrt(trace / n)
    return out


def _check_tols(zero_tol: float, tie_tol: float, skew_tol: float, pick_tol: float):
    tols = (zero_tol, tie_tol, skew_tol, pick_tol)
    for name, t in zip(("zero_tol", "tie_tol", "skew_tol", "pick_tol"), tols, strict=True):
        if not (np.isfinite(t) and 0 <= t < 1):
            raise ValueError(f"{name} must be in [0, 1), got {t!r}")
    return tols


def tinv_mds(
    points: Any,
    dim: int,
    *,
    on_ambiguity: Ambiguity = "index",
    zero_tol: float = ZERO_TOL,
    tie_tol: float = TIE_TOL,
    skew_tol: float = SKEW_TOL,
    pick_tol: float = PICK_TOL,
) -> Any:
    """Transformation-invariant, distance-preserving coordinates of one point cloud.

    Args:
        points: (n, D) coordinates, numpy-like or a torch tensor; n >= max(D, dim).
        dim: output dimension (>= 1); columns beyond the cloud's rank are zero.
        on_ambiguity: ``"index"`` fixes undetermined signs and repeated eigenvalues by the
            points' order (deterministic, still exactly invariant); ``"raise"`` raises.
        zero_tol, tie_tol, skew_tol, pick_tol: the tolerances of the module docstring.

    Returns:
        (n, dim) coordinates: float64 numpy for numpy-like input, a torch tensor of the
        input's floating dtype on its device for a tensor. The same (to rounding) for X and
        ``c * X @ Q + t`` for any orthogonal Q, translation t and scale c > 0; row i stays
        point i; pairwise distances are ``|x_i - x_j| / s`` with s the points' RMS
        distance to their centroid when dim >= the cloud's rank.

    Raises:
        ValueError: points not 2-D, empty, non-finite, fewer points than dimensions
            (n < D or n < dim: probably a transposed array), all points equal, a bad dim or
            tolerance, or an ambiguity with ``on_ambiguity="raise"``.
    """
    dim = _check_dim(dim)
    tols = _check_tols(zero_tol, tie_tol, skew_tol, pick_tol)
    x = _as_float64(points, "points")
    if x.ndim != 2:
        raise ValueError(f"points must be 2-D (n points, D coordinates), got shape {x.shape}")
    n, d = x.shape
    if n == 0 or d == 0:
        raise ValueError(f"points must be non-empty, got shape {x.shape}")
    if n < d or n < dim:
        raise ValueError(
            f"fewer points than dimensions: {n} points in {d} coordinates for dim={dim} "
            "(points must be (n, D) with n >= D and n >= dim; transposed?)"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("points contain NaN or inf")
    xc = x - x.mean(axis=0)
    trace = float(np.sum(xc * xc))
    if not trace > (1e-13 * np.abs(x).max()) ** 2 * n:
        raise ValueError("degenerate point cloud: all points are equal (nothing to scale)")
    u, s, _ = np.linalg.svd(xc, full_matrices=False)
    return _to_output(_finish(u * s, s * s, trace, n, dim, on_ambiguity, tols), points)


def tinv_mds_from_distances(
    distances: Any,
    dim: int,
    *,
    on_ambiguity: Ambiguity = "index",
    zero_tol: float = ZERO_TOL_DISTANCES,
    tie_tol: float = TIE_TOL,
    skew_tol: float = SKEW_TOL,
    pick_tol: float = PICK_TOL,
) -> Any:
    """:func:`tinv_mds` from a distance matrix (n, n) instead of coordinates: the n x n
    route (double centring of the squared distances, eigen-decomposition, negative
    eigenvalues of a non-Euclidean matrix clipped to 0 and left out of the scale).
    Invariant to a uniform scaling of the distances; for the Euclidean distances of points X
    it agrees with ``tinv_mds(X, dim)`` (to rounding, ties fixed the same way). O(n^3).

    Raises:
        ValueError: not square, non-finite, negative entries, not symmetric (relative
            1e-9), non-zero diagonal, n < dim, all distances zero, bad dim or tolerance.
    """
    dim = _check_dim(dim)
    tols = _check_tols(zero_tol, tie_tol, skew_tol, pick_tol)
    dist = _as_float64(distances, "distances")
    if dist.ndim != 2 or dist.shape[0] != dist.shape[1]:
        raise ValueError(f"distances must be a square (n, n) matrix, got shape {dist.shape}")
    n = dist.shape[0]
    if n == 0:
        raise ValueError("distances must be non-empty")
    if n < dim:
        raise ValueError(f"fewer points than dimensions: {n} points for dim={dim}")
    if not np.all(np.isfinite(dist)):
        raise ValueError("distances contain NaN or inf")
    if np.any(dist < 0):
        raise ValueError("distances must be >= 0")
    big = float(dist.max())
    if big == 0.0:
        raise ValueError("degenerate point cloud: all distances are zero (nothing to scale)")
    if np.max(np.abs(dist - dist.T)) > 1e-9 * big:
        raise ValueError("distances must be symmetric")
    if np.max(np.abs(np.diag(dist))) > 1e-9 * big:
        raise ValueError("distances must have a zero diagonal")
    sq = 0.5 * (dist + dist.T) ** 2
    b = -0.5 * (sq - sq.mean(axis=0) - sq.mean(axis=1)[:, None] + sq.mean())
    lam, u = np.linalg.eigh(b)
    lam = np.maximum(lam, 0.0)
    trace = float(lam.sum())
    return _to_output(_finish(u * np.sqrt(lam), lam, trace, n, dim, on_ambiguity, tols), distances)


def tinv_mds_batch(clouds: Sequence[Any] | Any, dim: int, **kwargs: Any) -> Any:
    """:func:`tinv_mds` of each cloud of a batch.

    Args:
        clouds: a (B, n, D) array or tensor, or a sequence of (n_b, D_b) clouds.
        dim: output dimension; kwargs: as for :func:`tinv_mds`.

    Returns:
        (B, n, dim) of the input's kind for a 3-D array or tensor, else a list of the
        per-cloud outputs. Raises what :func:`tinv_mds` raises, naming the cloud.
    """
    stacked = _is_torch(clouds) or isinstance(clouds, np.ndarray)
    if stacked and clouds.ndim != 3:
        raise ValueError(f"a stacked batch must be 3-D (B, n, D), got shape {clouds.shape}")
    out = []
    for i, cloud in enumerate(clouds):
        try:
            out.append(tinv_mds(cloud, dim, **kwargs))
        except ValueError as err:
            raise ValueError(f"cloud {i}: {err}") from None
    if not stacked:
        return out
    if _is_torch(clouds):
        import torch

        if not out:
            return clouds.new_zeros((0, clouds.shape[1], dim))
        return torch.stack(out)
    return np.stack(out) if out else np.zeros((0, clouds.shape[1], dim))
