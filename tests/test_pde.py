"""sciml.pde: derivatives of the models, problems and conditions, the trainer, solve()."""

from __future__ import annotations

import math

import pytest
import torch

from sciml.pde import (
    PIG,
    PINN,
    Box,
    Dirichlet,
    Fields,
    Initial,
    Neumann,
    Periodic,
    Phase,
    Problem,
    Sampler,
    Trainer,
    TrainingDiverged,
    get_problem,
    list_problems,
)
from sciml.pde.taylor import Jet, TanhMLP, identity_jet
from sciml.pde.trainer import LbfgsStall


def finite_differences(model, x, h=1e-4):
    """Central differences of u: first (N, d) and second (N, d) derivatives."""
    u0 = model(x).value[:, 0]
    d1, d2 = [], []
    for j in range(x.shape[1]):
        e = torch.zeros(x.shape[1], dtype=x.dtype)
        e[j] = h
        up, um = model(x + e).value[:, 0], model(x - e).value[:, 0]
        d1.append((up - um) / (2 * h))
        d2.append((up - 2 * u0 + um) / h**2)
    return torch.stack(d1, 1), torch.stack(d2, 1)


@pytest.mark.parametrize("make", [lambda b: PIG(b, 30, channels=3, sigma0=0.4), PINN])
@pytest.mark.parametrize("box", [Box(x=(-1, 1), y=(0, 3)), Box(t=(0, 10), x=(-4, 4), y=(-1, 1))])
def test_model_derivatives_match_finite_differences(make, box):
    model = make(box).double()
    x = box.sample(25, torch.Generator().manual_seed(0), torch.float64)
    jet = model(x, order=2)
    d1, d2 = finite_differences(model, x)
    scale1 = max(1.0, d1.abs().max().item())
    scale2 = max(1.0, d2.abs().max().item())
    torch.testing.assert_close(jet.d1[:, :, 0], d1, atol=1e-6 * scale1, rtol=0)
    torch.testing.assert_close(jet.d2[:, :, 0], d2, atol=1e-4 * scale2, rtol=0)


def test_taylor_mlp_matches_nested_autograd():
    torch.manual_seed(0)
    mlp = TanhMLP((3, 8, 8, 2), dtype=torch.float64)
    x = torch.randn(10, 3, dtype=torch.float64, requires_grad=True)
    jet = mlp(identity_jet(x, 2))
    for m in range(2):
        (g,) = torch.autograd.grad(jet.value[:, m].sum(), x, create_graph=True)
        torch.testing.assert_close(jet.d1[:, :, m], g)
        for j in range(3):
            (h,) = torch.autograd.grad(g[:, j].sum(), x, retain_graph=True)
            torch.testing.assert_close(jet.d2[:, j, m], h[:, j])


def test_jet_orders():
    x = torch.randn(4, 2)
    assert identity_jet(x, 0).order == 0 and identity_jet(x, 1).order == 1
    assert TanhMLP((2, 3, 1))(identity_jet(x, 2)).order == 2


# ---- problems and conditions ---------------------------------------------------------------


class Exact(torch.nn.Module):
    """A 'model' returning a known function u = sin(x) + t² y with exact derivatives."""

    def forward(self, p, order=0):
        t, x, y = p[:, 0], p[:, 1], p[:, 2]
        u = torch.sin(x) + t**2 * y
        d1 = torch.stack([2 * t * y, torch.cos(x), t**2], 1)[..., None]
        d2 = torch.stack([2 * y, -torch.sin(x), torch.zeros_like(x)], 1)[..., None]
        return Jet(u[:, None], d1 if order >= 1 else None, d2 if order >= 2 else None)


def space_time_problem(*conditions, residual=None):
    return Problem(
        name="toy",
        domain=Box(t=(0, 1), x=(-1, 1), y=(0, 2)),
        residual=residual or (lambda f: f.d("t") - 2 * f.coord("t") * f.coord("y")),
        order=1,
        conditions=conditions,
        time="t",
    )


def condition_residual(problem, condition, n=64):
    x = condition.sample(problem, n, torch.Generator().manual_seed(1))
    return condition.residual(
        Fields(x, Exact()(x, order=condition.order), problem.domain.names), problem
    )


def test_conditions_vanish_on_the_exact_solution():
    conditions = [
        Dirichlet(lambda p: torch.sin(p[:, 1]) + p[:, 0] ** 2 * p[:, 2], faces=[("x", "low")]),
        Neumann(
            lambda p: torch.where(p[:, 2] > 1, 1.0, -1.0) * p[:, 0] ** 2,
            faces=[("y", "low"), ("y", "high")],
        ),
        Initial(lambda p: torch.sin(p[:, 1]), derivative=0.0),
    ]
    problem = space_time_problem(*conditions)
    for c in conditions:
        assert condition_residual(problem, c).abs().max() < 1e-6, type(c).__name__
    # u is not periodic in x on [-1, 1]: the periodic residual is u(x=-1) - u(x=1).
    periodic = Periodic(axis="x", derivative=False)
    r = condition_residual(problem, periodic)
    torch.testing.assert_close(r, torch.full_like(r, math.sin(-1) - math.sin(1)))


def test_condition_weight_and_points_are_keyword_only():
    assert Dirichlet(0.5).value == 0.5 and Dirichlet(0.5).weight == 1.0
    with pytest.raises(TypeError):
        Dirichlet(0.5, "all", 2.0)


def test_bad_declarations():
    with pytest.raises(ValueError, match="low < high"):
        Box(x=(1, 0))
    with pytest.raises(ValueError, match="no axis 'z'"):
        Problem("p", Box(x=(0, 1)), lambda f: f.u, time="z")
    with pytest.raises(ValueError, match="order must be 0, 1 or 2"):
        Problem("p", Box(x=(0, 1)), lambda f: f.u, order=3)
    with pytest.raises(ValueError, match="no time axis"):
        Initial(0.0).sample(Problem("p", Box(x=(0, 1)), lambda f: f.u), 4, torch.Generator())


def test_residual_of_the_wrong_shape_is_a_clear_error():
    problem = space_time_problem(residual=lambda f: f.u[:3])
    trainer = Trainer(problem, Exact(), [Phase("adam", 1)], progress=False)
    with pytest.raises(ValueError, match=r"must return a tensor of shape \(4000,\)"):
        trainer.loss(trainer.sample(torch.Generator()))


def test_residual_asking_for_undeclared_derivatives_is_a_clear_error():
    problem = space_time_problem(residual=lambda f: f.dd("x"))
    trainer = Trainer(problem, Exact(), [Phase("adam", 1)], progress=False)
    with pytest.raises(ValueError, match="declare order = 2"):
        trainer.loss(trainer.sample(torch.Generator()))


def test_model_of_the_wrong_dimension_is_a_clear_error():
    model = PIG(Box(x=(0, 1)), 10)
    with pytest.raises(ValueError, match=r"points must have shape \(N, 1\)"):
        model(torch.zeros(5, 2))


def test_every_listed_problem_builds():
    for name in list_problems():
        problem = get_problem(name)
        assert problem.description and problem.reference is not None
    with pytest.raises(ValueError, match="unknown problem 'nope'; known problems: "):
        get_problem("nope")


# ---- trainer -------------------------------------------------------------------------------


def small_poisson_trainer(tmp_path=None, iterations=60, **kwargs):
    problem = get_problem("poisson")
    model = PIG(problem.domain, 100, channels=2, sigma0=0.25, seed=1)
    options = {
        "interior_points": 500,
        "condition_points": 200,
        "resample_every": 1,
        "residual_weight": 1e-3,
        "eval_every": 20,
        "progress": False,
        "checkpoint": None if tmp_path is None else tmp_path / "ckpt.pt",
        "checkpoint_every": 20,
    } | kwargs
    return Trainer(problem, model, [Phase("adam", iterations, lr=2e-2)], **options)


def test_training_reduces_the_error():
    trainer = small_poisson_trainer(iterations=200)
    result = trainer.fit()
    assert result.history[-1].iteration == 200 and result.stopped == "finished"
    assert result.rel_l2 < 0.3 * result.history[0].rel_l2


def test_checkpoint_resume_continues_where_it_stopped(tmp_path):
    first = small_poisson_trainer(tmp_path, iterations=40)
    result = first.fit()
    assert (tmp_path / "ckpt.pt").exists() and result.history[-1].iteration == 40
    again = small_poisson_trainer(tmp_path, iterations=80)
    again.model.load_state_dict(first.model.state_dict())
    resumed = again.fit()
    assert [r.iteration for r in resumed.history] == [20, 40, 60, 80]


class Interrupt(Exception):
    """Raised from the callback, as a Ctrl-C would be."""


@pytest.mark.parametrize(
    "phases, options",
    [
        # Adam with a learning-rate schedule and new uniform points every step.
        ([Phase("adam", 20, lr=2e-2, gamma=0.99)], {}),
        # Adam then L-BFGS on one fixed Sobol set, resampled when L-BFGS stalls.
        (
            [Phase("adam", 5, lr=2e-2), Phase("lbfgs", 15, lr=1.0, on_stall="resample")],
            {"resample_every": None, "sampling": "sobol"},
        ),
    ],
)
def test_interrupted_and_resumed_run_ends_where_an_uninterrupted_one_does(
    tmp_path, phases, options
):
    """Stopped at an evaluation (here by an exception from the callback, as Ctrl-C would)
    and resumed from its checkpoint, a run must end with exactly the parameters, losses
    and errors of a run never stopped: same points, optimiser state and stall counters."""
    options = {"eval_every": 5, "interior_points": 200, "condition_points": 100, **options}
    whole = small_poisson_trainer(**options)
    whole.phases = list(phases)
    expected = whole.fit()

    def stop_at_10(record):
        if record.iteration == 10:
            raise Interrupt

    first = small_poisson_trainer(tmp_path, callback=stop_at_10, **options)
    first.phases = list(phases)
    with pytest.raises(Interrupt):
        first.fit()
    assert torch.load(tmp_path / "ckpt.pt", weights_only=True)["state"]["iteration"] in (5, 10)
    again = small_poisson_trainer(tmp_path, **options)  # a fresh model, loaded on resume
    again.phases = list(phases)
    resumed = again.fit()
    assert [r.iteration for r in resumed.history] == [r.iteration for r in expected.history]
    assert [(r.loss, r.rel_l2) for r in resumed.history] == [
        (r.loss, r.rel_l2) for r in expected.history
    ]
    for name, value in whole.model.state_dict().items():
        assert torch.equal(again.model.state_dict()[name], value), name


def test_lbfgs_phase_after_adam():
    trainer = small_poisson_trainer(iterations=20, resample_every=None)
    trainer.phases.append(Phase("lbfgs", 20, lr=1.0))
    result = trainer.fit()
    assert result.history[-1].iteration == 40
    assert result.history[-1].evaluations > 40  # line searches evaluate more than once


def test_lbfgs_line_search_backtracks_from_a_failed_first_trial():
    """A first trial step that overshoots must be shortened, not dropped (torch's default
    evaluation budget for one L-BFGS iteration would leave the line search none)."""
    x = torch.tensor([1.0, 1.0], dtype=torch.float64, requires_grad=True)
    optimizer, _ = Phase("lbfgs", 1, lr=100.0).make([x])

    def closure():
        optimizer.zero_grad()
        f = (torch.tensor([1.0, 10.0], dtype=torch.float64) * x**2).sum()
        f.backward()
        return f

    before = closure().item()
    optimizer.step(closure)
    assert closure().item() < 0.5 * before


class Idle(Exact):
    """Exact with a parameter the output ignores: nothing can lower its loss."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(3))

    def forward(self, p, order=0):
        jet = super().forward(p, order)
        return Jet(jet.value + 0 * self.unused.sum(), jet.d1, jet.d2)


def test_lbfgs_stall_rules_restart_after_two_repeats_and_stall_after_three_restarts():
    stall = LbfgsStall()
    # A new loss resets everything; the loss repeated twice calls for a restart.
    assert [stall.update(v) for v in (3.0, 2.0, 2.0)] == [(False, False)] * 3
    assert stall.update(2.0) == (True, False) and stall.restarts == 1
    assert [stall.update(2.0) for _ in range(2)] == [(False, False), (True, False)]
    assert stall.restarts == 2
    assert stall.update(1.0) == (False, False) and stall.restarts == 0  # progress
    for _ in range(5):
        stall.update(1.0)
    assert stall.update(1.0) == (True, True)  # the third restart without progress
    assert LbfgsStall.from_state(stall.as_state()) == stall


def test_lbfgs_phase_that_cannot_progress_ends_early_and_says_so():
    problem = space_time_problem(residual=lambda f: f.u - 1)
    trainer = Trainer(problem, Idle(), [Phase("lbfgs", 500)], eval_every=100, progress=False)
    result = trainer.fit()
    assert result.history[-1].iteration < 20
    assert result.stopped.startswith("L-BFGS stalled")


def test_lbfgs_phase_that_stalls_can_resample_and_go_on():
    problem = space_time_problem(residual=lambda f: f.u - 1)
    trainer = Trainer(
        problem, Idle(), [Phase("lbfgs", 60, on_stall="resample")], eval_every=100, progress=False
    )
    drawn = []
    sample = trainer.sample
    trainer.sample = lambda generator: drawn.append(1) or sample(generator)
    result = trainer.fit()
    assert result.history[-1].iteration == 60 and result.stopped == "finished"
    assert len(drawn) >= 3  # the first set, then one per stall
    with pytest.raises(ValueError, match="on_stall must be 'stop' or 'resample'"):
        Phase("lbfgs", 1, on_stall="continue")


def test_low_mode_penalty_measures_the_residuals_lowest_sine_modes():
    problem = get_problem("helmholtz")  # the box [-1, 1]^2
    trainer = Trainer(
        problem, PIG(problem.domain, 10), [Phase("lbfgs", 1)], low_modes=2, sampling="sobol"
    )
    x = trainer.sample(torch.Generator().manual_seed(0))[0].double()
    t = (x + 1) / 2

    def mode(m, n):
        return torch.sin(m * math.pi * t[:, 0]) * torch.sin(n * math.pi * t[:, 1])

    # 3 φ_12 is in the span (energy 9 mean(φ²) = 9/4); φ_33 and a constant-free high
    # mode are (nearly) orthogonal to it, so they add (almost) nothing.
    energy = trainer.low_mode_energy(x, 3 * mode(1, 2))
    assert float(energy) == pytest.approx(9 / 4, rel=2e-3)
    other = trainer.low_mode_energy(x, 3 * mode(1, 2) + mode(3, 3) + mode(7, 6))
    assert float(other) == pytest.approx(9 / 4, rel=2e-2)
    # A system's residual (N, 2): the energies of its columns add up.
    both = trainer.low_mode_energy(x, torch.stack([mode(1, 1), 2 * mode(2, 1)], 1))
    assert float(both) == pytest.approx(1 / 4 + 1, rel=2e-3)
    # The loss holds it, weighted by residual_weight * low_mode_weight.
    points = trainer.sample(torch.Generator().manual_seed(0))
    off = Trainer(problem, trainer.model, [Phase("lbfgs", 1)], sampling="sobol")
    with torch.no_grad():
        residual = problem.residual(
            Fields(points[0], trainer.model(points[0], order=2), problem.domain.names)
        )
        extra = trainer.loss(points) - off.loss(points)
        expected = trainer.low_mode_weight * trainer.low_mode_energy(points[0], residual)
    assert float(extra) == pytest.approx(float(expected), rel=1e-4)
    for bad in ({"low_modes": -1}, {"low_mode_weight": -1.0}):
        with pytest.raises(ValueError, match="low_mode"):
            Trainer(problem, trainer.model, [Phase("lbfgs", 1)], **bad)


def test_condition_weight_scales_only_the_condition_terms():
    problem = get_problem("helmholtz")
    model = PIG(problem.domain, 10)
    points = Trainer(problem, model, [Phase("lbfgs", 1)]).sample(torch.Generator().manual_seed(0))

    def loss(**weights):
        with torch.no_grad():
            return float(Trainer(problem, model, [Phase("lbfgs", 1)], **weights).loss(points))

    residual_only = loss(condition_weight=1e-30)
    conditions = loss() - residual_only
    assert loss(condition_weight=10.0) == pytest.approx(residual_only + 10 * conditions, rel=1e-5)
    for bad in (0.0, -1.0, math.nan, math.inf):
        with pytest.raises(ValueError, match="condition_weight must be a finite number > 0"):
            Trainer(problem, model, [Phase("lbfgs", 1)], condition_weight=bad)
    with pytest.raises(ValueError, match="residual_weight must be a finite number > 0"):
        Trainer(problem, model, [Phase("lbfgs", 1)], residual_weight=0.0)


def test_sobol_points_are_stratified_and_reproducible():
    box = Box(x=(-1, 1), y=(0, 2))
    x = box.sample(1024, Sampler(torch.Generator().manual_seed(0), "sobol"), torch.float64)
    # A scrambled Sobol set of 2^10 points puts exactly 64 in each cell of a 4 x 4 grid.
    cells = ((x - box.low) / (box.high - box.low) * 4).floor().long()
    counts = torch.bincount(cells[:, 0] * 4 + cells[:, 1], minlength=16)
    assert counts.tolist() == [64] * 16
    again = Sampler(torch.Generator().manual_seed(0), "sobol")
    assert torch.equal(box.sample(1024, again, torch.float64), x)
    assert not torch.equal(box.sample(1024, again, torch.float64), x)  # a new scramble
    with pytest.raises(ValueError, match="sampling must be 'uniform' or 'sobol'"):
        Sampler(torch.Generator(), "halton")


def test_trainer_draws_sobol_points_for_the_interior_and_the_conditions():
    problem = get_problem("helmholtz")
    trainer = Trainer(problem, PIG(problem.domain, 10), [Phase("lbfgs", 1)], sampling="sobol")
    interior, boundary = trainer.sample(torch.Generator().manual_seed(0))
    assert interior.shape == (4000, 2) and boundary.shape == (1000, 2)
    assert bool((boundary.abs().amax(1) == 1).all())
    with pytest.raises(ValueError, match="sampling must be"):
        Trainer(problem, PIG(problem.domain, 10), [Phase("adam", 1)], sampling="grid")


def test_nan_loss_stops_and_keeps_the_last_good_state(tmp_path):
    trainer = small_poisson_trainer(tmp_path, iterations=100)
    calls = {"n": 0}
    residual = trainer.problem.residual

    def poisoned(f):
        calls["n"] += 1
        r = residual(f)
        return r * math.nan if calls["n"] > 50 else r

    trainer.problem.residual = poisoned
    with pytest.raises(TrainingDiverged, match=r"iteration 51 .*restored to iteration 40"):
        trainer.fit()
    assert all(torch.isfinite(p).all() for p in trainer.model.parameters())
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    assert saved["state"]["iteration"] == 40


def test_time_budget_and_callback_stop_training():
    result = small_poisson_trainer(iterations=10_000, time_budget=1.0).fit()
    assert result.stopped.startswith("time budget") and result.history[-1].iteration < 10_000
    result = small_poisson_trainer(iterations=100, callback=lambda r: r.iteration >= 40).fit()
    assert result.stopped == "stopped by the callback" and result.history[-1].iteration == 40


def test_progress_bar_counts_the_budget_seconds_or_else_the_iterations(capsys):
    small_poisson_trainer(iterations=10_000, time_budget=1.0, progress=True).fit()
    assert "1/1 s [" in capsys.readouterr().err
    small_poisson_trainer(iterations=30, progress=True).fit()
    assert "30/30 [" in capsys.readouterr().err


def test_bad_trainer_arguments():
    problem = get_problem("poisson")
    model = PINN(problem.domain, hidden=(4,))
    with pytest.raises(ValueError, match="time_budget must be > 0"):
        Trainer(problem, model, [Phase("adam", 1)], time_budget=0)
    with pytest.raises(ValueError, match="optimizer must be 'adam' or 'lbfgs'"):
        Phase("sgd", 10)
    with pytest.raises(ValueError, match="max_line_search must be >= 1"):
        Phase("lbfgs", 10, max_line_search=0)


# ---- solve() and the command line ----------------------------------------------------------


def test_cli_lists_problems(capsys):
    from sciml.cli import main

    assert main(["solve", "--list"]) == 0
    out = capsys.readouterr().out
    assert "helmholtz" in out and "poisson" in out


def test_cli_solves_and_writes_every_file(tmp_path, capsys):
    import meshio

    from sciml.cli import main

    out = tmp_path / "run"
    code = main(["solve", "poisson", "--iters", "30", "--out", str(out), "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "relative L2 error" in text
    for name in ("checkpoint.pt", "error_curve.csv", "prediction.vtu", "prediction.png"):
        assert (out / name).stat().st_size > 0, name
    mesh = meshio.read(out / "prediction.vtu")
    assert set(mesh.point_data) == {"u", "u_ref", "error"}
    assert len(mesh.points) == 101 * 101


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["solve", "nope"], "unknown problem 'nope'"),
        (["solve", "poisson", "--model", "pinn", "--preset", "paper"], "no preset 'paper'"),
        (["solve", "poisson", "--device", "warp-drive"], "cannot use device 'warp-drive'"),
    ],
)
def test_cli_bad_requests(args, message, capsys, tmp_path):
    from sciml.cli import main

    assert main([*args, "--out", str(tmp_path)]) == 1
    assert message in capsys.readouterr().err


def test_cli_rejects_a_zero_budget(capsys):
    from sciml.cli import main

    with pytest.raises(SystemExit):
        main(["solve", "poisson", "--time-budget", "0"])
    assert "must be > 0" in capsys.readouterr().err


def test_unwritable_output_directory_fails_before_training(tmp_path):
    from sciml.pde.solve import SolveError, solve

    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SolveError, match="cannot write to output directory"):
        solve("poisson", iterations=5, out=blocker / "sub", progress=False)


class AutogradExact(torch.nn.Module):
    """A 'model' that is a problem's reference solution, derivatives by autograd."""

    def __init__(self, reference):
        super().__init__()
        self.reference = reference

    def forward(self, p, order=0):
        p = p.detach().double().requires_grad_(True)
        u = self.reference(p)
        (g,) = torch.autograd.grad(u.sum(), p, create_graph=True)
        d2 = torch.stack(
            [
                torch.autograd.grad(g[:, j].sum(), p, retain_graph=True)[0][:, j]
                for j in range(p.shape[1])
            ],
            1,
        )
        return Jet(u[:, None].detach(), g[..., None].detach(), d2[..., None].detach())


@pytest.mark.parametrize("name", ["poisson", "helmholtz", "klein_gordon", "flow_mixing"])
def test_reference_solutions_satisfy_their_problems(name):
    """The analytic references, differentiated by autograd, zero every residual. (The
    grid references are checked by their solvers' convergence tests.)"""
    problem = get_problem(name)
    model = AutogradExact(problem.reference)
    trainer = Trainer(
        problem,
        model,
        [Phase("adam", 1)],
        interior_points=500,
        condition_points=200,
        dtype=torch.float64,
        progress=False,
    )
    points = trainer.sample(torch.Generator().manual_seed(0))
    x = points[0]
    residual = problem.residual(Fields(x, model(x, order=2), problem.domain.names))
    assert residual.abs().max() < 1e-8, name
    for c, xc in zip(problem.conditions, points[1:], strict=True):
        r = c.residual(Fields(xc, model(xc, order=2), problem.domain.names), problem)
        assert r.abs().max() < 1e-8, (name, type(c).__name__)


def test_cli_resume_continues_from_the_checkpoint(tmp_path, capsys):
    from sciml.cli import main

    out = str(tmp_path)
    assert main(["solve", "poisson", "--iters", "20", "--out", out, "--no-progress"]) == 0
    assert (
        main(["solve", "poisson", "--iters", "40", "--out", out, "--no-progress", "--resume"]) == 0
    )
    assert "after 40 iterations" in capsys.readouterr().out.splitlines()[-2]
    rows = (tmp_path / "error_curve.csv").read_text().splitlines()[1:]
    assert [int(r.split(",")[0]) for r in rows][-1] == 40 and len(rows) >= 2


@pytest.mark.parametrize("box", [Box(x=(-1, 1), y=(0, 3)), Box(t=(0, 10), x=(-4, 4), y=(-1, 1))])
def test_full_covariance_pig_derivatives_match_finite_differences(box):
    model = PIG(box, 20, channels=3, sigma0=0.4, covariance="full").double()
    with torch.no_grad():  # turn the Gaussians away from the axes
        model.embedding.rotation.normal_(0, 0.5)
    x = box.sample(25, torch.Generator().manual_seed(0), torch.float64)
    jet = model(x, order=2)
    d1, d2 = finite_differences(model, x)
    torch.testing.assert_close(
        jet.d1[:, :, 0], d1, atol=1e-6 * max(1.0, d1.abs().max().item()), rtol=0
    )
    torch.testing.assert_close(
        jet.d2[:, :, 0], d2, atol=1e-4 * max(1.0, d2.abs().max().item()), rtol=0
    )


def test_full_covariance_starts_as_the_diagonal_model():
    box = Box(x=(-1, 1), y=(-1, 1))
    diagonal = PIG(box, 30, channels=2, sigma0=0.3, covariance="diagonal", cutoff=None).double()
    full = PIG(box, 30, channels=2, sigma0=0.3, covariance="full").double()
    full.load_state_dict(
        diagonal.state_dict()
        | {
            "embedding.log_scale": diagonal.embedding.log_sigma,
            "embedding.rotation": full.embedding.rotation,
        },
        strict=False,
    )
    x = box.sample(40, torch.Generator().manual_seed(1), torch.float64)
    for a, b in zip(
        full(x, order=2).__dict__.values(), diagonal(x, order=2).__dict__.values(), strict=True
    ):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_full_covariance_rejects_other_dimensions():
    with pytest.raises(ValueError, match="full covariances are for 2D or 3D"):
        PIG(Box(x=(0, 1)), 5, covariance="full")
    with pytest.raises(ValueError, match="covariance must be 'diagonal' or 'full'"):
        PIG(Box(x=(0, 1)), 5, covariance="round")
