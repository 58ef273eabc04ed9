"""PROSE on the paper's protocol, on freshly generated trajectories never trained on.

    python benches/bench_prose.py [--model prose-ode-small|DIR] [--n 100]
        [--chaotic DIR [--chaotic-n 20]]

192 points on [0, 6]; the first 64 (t < 2), with 2% noise, are the input; the other 128 are
predicted. Prints JSON: per system the data relative L2 error, the share of valid predicted
systems and the predicted vector field's median relative error, as decoded and with its
coefficients refitted to the input (``refine=True``), beside the one the family's reference
parameters alone give; data only (1->2) and with noisy skeletons (2->2); the issue's targets
with whether each is met; and, with ``--chaotic``, the same table for a model trained on the
chaotic systems (no targets).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from sciml.prose import ProseModel
from sciml.prose.estimator import PRETRAINED
from sciml.prose.evaluate import evaluate
from sciml.prose.systems import CHAOTIC
from sciml.prose.training import NON_CHAOTIC

FIELD_TARGETS = {"damped_oscillator": 0.024, "van_der_pol": 0.017, "lotka_volterra": 0.09}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="prose-ode-small")
    parser.add_argument("--n", type=int, default=100, help="trajectories per system")
    parser.add_argument("--seed", type=int, default=12345)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chaotic", help="a model trained on the chaotic systems (directory)")
    parser.add_argument("--chaotic-n", type=int, default=20, help="trajectories per system")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.model in PRETRAINED:
        model = ProseModel.pretrained(args.model)
    else:
        model = ProseModel.from_checkpoint(args.model)
    start = time.perf_counter()
    families = list(NON_CHAOTIC)
    data_only = evaluate(model, families, n=args.n, seed=args.seed, refine=True)
    with_skeletons = evaluate(
        model, families, n=args.n, seed=args.seed, skeletons=True, refine=True
    )
    targets = {
        "data_rel_l2_mean_all <= 0.08": data_only["all"]["data_rel_l2_mean"] <= 0.08,
        "data_rel_l2_mean_each <= 0.15": all(
            data_only[s]["data_rel_l2_mean"] <= 0.15 for s in NON_CHAOTIC
        ),
        "symbols_valid >= 0.95": data_only["all"]["symbols_valid"] >= 0.95,
        **{
            f"field_rel_l2_median {s} <= {t}": data_only[s]["field_rel_l2_median"] <= t
            for s, t in FIELD_TARGETS.items()
        },
        **{
            f"refined_field_rel_l2_median {s} <= {t}": (
                data_only[s]["refined_field_rel_l2_median"] <= t
            )
            for s, t in FIELD_TARGETS.items()
        },
    }
    result = {
        "model": args.model,
        "trajectories_per_system": args.n,
        "data_only_1to2": data_only,
        "with_noisy_skeletons_2to2": with_skeletons,
        "targets_met": targets,
    }
    if args.chaotic:
        chaotic = ProseModel.from_checkpoint(args.chaotic)
        result["chaotic"] = {
            "model": args.chaotic,
            "trajectories_per_system": args.chaotic_n,
            "data_only_1to2": evaluate(
                chaotic, list(CHAOTIC), n=args.chaotic_n, seed=args.seed, refine=True
            ),
        }
    result["seconds"] = round(time.perf_counter() - start, 1)
    print(json.dumps(result, indent=1))
    return result


if __name__ == "__main__":
    main()
