"""PROSE on one noisy trajectory: its future and its equations, from the first third.

    python examples/prose_ode.py                                 # van der Pol, shipped model
    python examples/prose_ode.py --system lotka_volterra --seed 3 --model runs/prose

Draws one trajectory of ``--system`` (parameters within ±10% of the reference, 192 points on
[0, 6], 2% noise), gives the model the first 64 points (t < 2) and asks for the other 128
and for the right-hand side (decoded greedily, then its coefficients refitted to the input,
``refine=True``). Writes OUT/prose_ode.png (input points, prediction and truth per
component, the predicted equations in the title) and returns the relative L2 error of the
prediction against the clean solution and the predicted equations.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import sympy
import torch

from sciml.prose import ProseModel, generate
from sciml.prose.batch import N_INPUT
from sciml.prose.estimator import PRETRAINED


def equation_text(system: list[sympy.Expr] | None) -> str:
    """One line per component to 3 significant digits, or a note that decoding failed."""
    if system is None:
        return "no valid equation decoded"
    return "\n".join(f"$u_{i}' = {sympy.latex(sympy.N(e, 3))}$" for i, e in enumerate(system))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="prose-ode-small", help="shipped name or directory")
    parser.add_argument("--system", default="van_der_pol")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="out/prose_ode")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # a small model on one trajectory: threads cost more than they give
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    if args.model in PRETRAINED:
        model = ProseModel.pretrained(args.model)
    else:
        model = ProseModel.from_checkpoint(args.model)
    traj = generate(args.system, 1, seed=args.seed, noise=0.02)
    d = int(traj.dims[0])
    t_in, u_in = traj.t[:N_INPUT], traj.u[0, :N_INPUT, :d]
    t_out, truth = traj.t[N_INPUT:], traj.u_clean[0, N_INPUT:, :d]

    pred = model.predict(t_in, u_in, t_out)  # (128, d)
    [system] = model.predict_expressions(t_in, u_in[None], refine=True)
    rel_l2 = float(np.linalg.norm(pred - truth) / np.linalg.norm(truth))
    true_system = traj.expressions(0)
    print(f"{args.system}, parameters {traj.params[0]}")
    print(f"true:      {true_system}")
    print(f"predicted: {system}")
    print(f"relative L2 error of the prediction on t in [2, 6]: {rel_l2:.3%}")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(d, 1, figsize=(8, 2.2 * d + 1.4), sharex=True, squeeze=False)
    for i, ax in enumerate(axes[:, 0]):
        ax.plot(traj.t, traj.u_clean[0, :, i], color="0.6", lw=2.5, label="truth")
        ax.plot(t_in, u_in[:, i], "k.", ms=4, label="input (2% noise)")
        ax.plot(t_out, pred[:, i], color="C3", lw=1.4, label="PROSE prediction")
        ax.axvline(t_in[-1], color="0.8", ls=":")
        ax.set_ylabel(f"$u_{i}$")
    axes[0, 0].legend(loc="best", fontsize=8)
    axes[-1, 0].set_xlabel("t")
    axes[0, 0].set_title(
        f"{args.system}: predicted equations (relative L2 of the prediction {rel_l2:.1%})\n"
        + equation_text(system),
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(out / "prose_ode.png", dpi=120)
    plt.close(fig)
    print(f"wrote {out / 'prose_ode.png'}")
    return {"rel_l2": rel_l2, "system": system, "true_system": true_system}


if __name__ == "__main__":
    main()
