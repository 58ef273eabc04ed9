"""sciml.prose's network: every variant's shapes, independence of the query times, the loss,
decoding, and a short training that lowers the loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sciml.prose import ExpressionTokenizer, generate
from sciml.prose.batch import make_batch
from sciml.prose.decoding import decode_symbols
from sciml.prose.model import ProseConfig, ProseNetwork, prose_loss
from sciml.prose.training import ProseData, train_prose
from sciml.train import TrainConfig

torch.set_num_threads(1)
TOK = ExpressionTokenizer(max_dim=3)


def tiny_net(seed: int = 0) -> ProseNetwork:
    torch.manual_seed(seed)
    config = ProseConfig(
        vocab_size=len(TOK),
        dim=32,
        heads=2,
        dim_ff=64,
        data_encoder_layers=1,
        symbol_encoder_layers=1,
        fusion_layers=1,
        data_decoder_layers=1,
        symbol_decoder_layers=1,
    )
    return ProseNetwork(config)


@pytest.fixture(scope="module")
def batch():
    traj = generate(["damped_oscillator", "lotka_volterra", "van_der_pol"], 6, seed=1)
    return make_batch(traj, TOK, 3, skeletons=True, rng=np.random.default_rng(0))


@pytest.mark.parametrize(
    ("skeleton", "data", "symbols"),
    [(False, True, False), (True, True, False), (True, True, True), (False, True, True)],
    ids=["1-1", "2-1", "2-2", "1-2"],
)
def test_every_variant_has_the_right_shapes(batch, skeleton, data, symbols):
    net = tiny_net()
    out = net(
        batch.t_in,
        batch.u_in,
        batch.dim_mask,
        t_out=batch.t_out if data else None,
        target_ids=batch.target_ids if symbols else None,
        target_padding=batch.target_padding if symbols else None,
        skeleton_ids=batch.skeleton_ids if skeleton else None,
        skeleton_padding=batch.skeleton_padding if skeleton else None,
    )
    assert out.data.shape == (6, 128, 3)
    if symbols:
        assert out.logits.shape == (*batch.target_ids.shape, len(TOK))
    else:
        assert out.logits is None
    loss = prose_loss(out, batch.u_out, batch.dim_mask, batch.target_ids, batch.target_padding)
    assert loss.ndim == 0 and torch.isfinite(loss)


def test_query_times_are_independent_and_any_time_works(batch):
    net = tiny_net().eval()
    mem, pad, mean, std = net.encode(batch.t_in, batch.u_in, batch.dim_mask)
    full = net.decode_data(mem, pad, batch.t_out, mean, std)
    some = net.decode_data(mem, pad, batch.t_out[:, 5:9], mean, std)
    torch.testing.assert_close(full[:, 5:9], some, atol=1e-5, rtol=1e-5)
    odd = torch.rand(6, 3) * 6  # unsorted times off the grid
    assert net.decode_data(mem, pad, odd, mean, std).shape == (6, 3, 3)


def test_padding_components_and_tokens_do_not_matter(batch):
    """Changing a padded state component or a padded skeleton token changes nothing."""
    net = tiny_net().eval()
    kwargs = dict(t_out=batch.t_out, skeleton_ids=batch.skeleton_ids)
    kwargs["skeleton_padding"] = batch.skeleton_padding
    ref = net(batch.t_in, batch.u_in, batch.dim_mask, **kwargs).data
    u = batch.u_in.clone()
    u[~batch.dim_mask[:, None, :].expand_as(u)] = 7.0
    ids = batch.skeleton_ids.clone()
    ids[batch.skeleton_padding] = 5
    out = net(batch.t_in, u, batch.dim_mask, **{**kwargs, "skeleton_ids": ids}).data
    m = batch.dim_mask[:, None, :].expand_as(ref)
    torch.testing.assert_close(out[m], ref[m], atol=1e-5, rtol=1e-5)


def test_greedy_decoding_equals_the_argmax_of_teacher_forcing(batch):
    net = tiny_net(3).eval()
    mem, pad, _, _ = net.encode(batch.t_in[:2], batch.u_in[:2], batch.dim_mask[:2])
    ids = decode_symbols(net, mem, pad, TOK.bos_id, TOK.eos_id, max_len=8)
    for i, seq in enumerate(ids):
        prefix = torch.tensor([[TOK.bos_id, *seq]])
        logits = net.decode_symbols(mem[i : i + 1], None, prefix, None)
        assert logits[0, :-1].argmax(-1).tolist() == seq
    beam = decode_symbols(net, mem, pad, TOK.bos_id, TOK.eos_id, max_len=8, beam_size=3)
    assert len(beam) == 2 and all(isinstance(t, int) for seq in beam for t in seq)


def test_bad_configs_are_value_errors():
    with pytest.raises(ValueError, match="multiple of heads"):
        ProseConfig(vocab_size=10, dim=30, heads=4)
    with pytest.raises(ValueError, match="unknown preset"):
        ProseConfig.preset("huge", 10)
    with pytest.raises(ValueError, match="variant"):
        ProseData(variant="3-3")


def test_paper_preset_is_about_a_hundred_million_parameters():
    with torch.device("meta"):
        net = ProseNetwork(ProseConfig.preset("paper", len(TOK)))
    n = sum(p.numel() for p in net.parameters())
    assert 90e6 < n < 115e6, n


def test_a_short_training_lowers_the_loss(tmp_path):
    net = tiny_net(4)
    data = ProseData(batch_size=16)
    config = TrainConfig(steps=60, lr=2e-3, warmup_steps=5, progress=False, log_every=15)
    result = train_prose(net, TOK, data, config, tmp_path)
    losses = [h["loss"] for h in result.history]
    assert losses[-1] < 0.8 * losses[0], losses
    assert (tmp_path / "checkpoint.pt").is_file()


# ---- the estimator ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from sciml.prose import ProseModel

    out = tmp_path_factory.mktemp("prose")
    net = tiny_net(5)
    config = TrainConfig(steps=3, lr=1e-3, progress=False, log_every=1)
    train_prose(net, TOK, ProseData(batch_size=4), config, out)
    return ProseModel.from_checkpoint(out)


def test_estimator_predicts_shapes_and_expressions(trained):
    traj = generate("van_der_pol", 3, seed=2)
    t_in, u_in = traj.t[:64], traj.u[:, :64]
    out = trained.predict(t_in, u_in, traj.t[64:])
    assert out.shape == (3, 128, 2) and np.isfinite(out).all()
    assert trained.predict(t_in, u_in[0], [7.0, 6.5]).shape == (2, 2)
    skeletons = [TOK.skeleton(traj.expressions(i)) for i in range(3)]
    assert trained.predict(t_in, u_in, traj.t[64:], skeletons=skeletons).shape == (3, 128, 2)
    exprs = trained.predict_expressions(t_in, u_in, max_len=12)
    assert len(exprs) == 3
    for system in exprs:  # an untrained model's guesses: None or a valid 2-component system
        assert system is None or len(system) == 2


def test_estimator_refuses_bad_input(trained):
    from sciml.prose import ProseModel

    traj = generate("van_der_pol", 2, seed=3)
    t_in, u_in, t_out = traj.t[:64], traj.u[:, :64], traj.t[64:]
    bad_u = u_in.copy()
    bad_u[0, 3, 1] = np.nan
    cases = [
        ((t_in, u_in[:, :10], t_out), "u_in must have shape"),
        ((t_in, bad_u, t_out), "NaN"),
        ((t_in[::-1].copy(), u_in, t_out), "strictly increasing"),
        ((t_in, np.zeros((2, 64, 5)), t_out), "dimensions"),
        ((t_in, u_in, np.zeros((2, 2))), "t_out"),
    ]
    for args, message in cases:
        with pytest.raises(ValueError, match=message):
            trained.predict(*args)
    with pytest.raises(ValueError, match="unknown pretrained"):
        ProseModel.pretrained("prose-pde-huge")
    with pytest.raises(ValueError, match="unknown ODE system"):
        generate("no_such_system", 2)


def test_field_error_of_the_true_system_is_zero_and_of_none_inf():
    from sciml.prose import systems
    from sciml.prose.evaluate import field_error

    sys = systems.get("lotka_volterra")
    states = np.random.default_rng(0).uniform(0.5, 3, (50, 2))
    true = sys.vector_field(states)
    assert field_error(sys.rhs(), true, states) < 1e-12
    assert field_error(None, true, states) == float("inf")
    assert field_error([sympy_log_of_negative(), sys.rhs()[1]], true, states) == float("inf")


def sympy_log_of_negative():
    import sympy

    u0 = sympy.Symbol("u_0")
    return sympy.log(-u0 - 10)


def test_eval_command_prints_the_table(trained, tmp_path, capsys):
    import json

    from sciml.cli import main
    from sciml.prose.evaluate import evaluate

    table = evaluate(trained, ["damped_oscillator"], n=3, seed=1)
    row = table["damped_oscillator"]
    assert np.isfinite(row["data_rel_l2_mean"]) and 0 <= row["symbols_valid"] <= 1
    assert 0.01 < row["reference_params_field_rel_l2_median"] < 0.2
    out = tmp_path / "run"
    args = ["prose", "train", "--out", str(out), "--steps", "2", "--batch", "4", "--no-progress"]
    assert main(args) == 0
    assert (
        main(["prose", "eval", str(out), "--n", "2", "--systems", "van_der_pol", "--refine"]) == 0
    )
    printed = capsys.readouterr().out
    row = json.loads(printed[printed.index("{") :])["van_der_pol"]
    assert row["trajectories"] == 2 and "refined_field_rel_l2_median" in row


def test_shipped_model_predicts_within_a_loose_bound():
    from sciml.prose import ProseModel

    model = ProseModel.pretrained("prose-ode-small")
    traj = generate(["damped_oscillator", "van_der_pol", "lotka_volterra"], 12, seed=777)
    for name in ("damped_oscillator", "van_der_pol", "lotka_volterra"):
        idx = [i for i, n in enumerate(traj.names) if n == name]
        pred = model.predict(traj.t[:64], traj.u[idx, :64, :2], traj.t[64:])
        true = traj.u_clean[idx, 64:, :2]
        err = np.linalg.norm(pred - true, axis=(1, 2)) / np.linalg.norm(true, axis=(1, 2))
        assert err.mean() < 0.15, (name, err)
    exprs = model.predict_expressions(traj.t[:64], traj.u[:, :64, :2])
    assert sum(e is not None for e in exprs) >= 11
    with pytest.raises(ValueError, match="dimensions"):
        model.predict(traj.t[:64], np.zeros((1, 64, 3)), traj.t[64:])


def test_prose_bench_runs():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parent.parent / "benches" / "bench_prose.py"
    spec = importlib.util.spec_from_file_location("bench_prose", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    out = bench.main(["--n", "4", "--threads", "1"])
    assert out["data_only_1to2"]["all"]["symbols_valid"] >= 0.5


def test_torchrun_two_processes_train_and_resume(tmp_path):
    """``torchrun -m sciml.cli prose train``: DDP on gloo over 2 CPU processes, resumed."""
    import os
    import subprocess
    import sys

    from sciml.prose import ProseModel
    from sciml.train import load_checkpoint

    def run(steps: int) -> None:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        cmd += ["--nproc-per-node", "2", "-m", "sciml.cli", "prose", "train"]
        cmd += ["--out", str(tmp_path), "--steps", str(steps), "--batch", "4"]
        cmd += ["--warmup", "2", "--checkpoint-every", "2", "--threads", "1", "--no-progress"]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]

    run(2)
    first = load_checkpoint(tmp_path / "checkpoint.pt")
    assert first["step"] == 2 and first["world_size"] == 2
    run(4)  # the same run, longer: resumes at step 2
    again = load_checkpoint(tmp_path / "checkpoint.pt")
    assert again["step"] == 4 and [h["step"] for h in again["history"]] == [2, 4]
    assert any(not torch.equal(again["model"][k], first["model"][k]) for k in first["model"])
    model = ProseModel.from_checkpoint(tmp_path)
    traj = generate("van_der_pol", 1, seed=0)
    assert np.isfinite(model.predict(traj.t[:64], traj.u[:, :64, :2], traj.t[64:])).all()
