"""The Rosenbrock-W solver ROS34PW2: coefficients, orders, stiffness and interface."""

import numpy as np
import pytest
import scipy.linalg
from scipy.integrate import DenseOutput, solve_ivp

from riemgn.dynamics.flows import _rosenbrock as ros
from riemgn.dynamics.flows._rosenbrock import RosenbrockW

STEPS = np.array([0.1, 0.05, 0.025, 0.0125])
HUGE = 1e10  # tolerances that never reject: with max_step = first_step, constant steps


def _slope(errors) -> float:
    """The least-squares slope of log(error) against log(h) over ``STEPS``."""
    return float(np.polyfit(np.log(STEPS), np.log(errors), 1)[0])


def _run(solver, max_steps=5000):
    """Step to the end: the accepted states and the last message (a broken
    solver fails here instead of stepping forever)."""
    states, message = [], None
    while solver.status == "running":
        assert len(states) < max_steps, f"more than {max_steps} steps"
        message = solver.step()
        states.append(solver.y.copy())
    return np.array(states), message


def _finish(solver) -> int:
    """Step to the end; the number of steps."""
    return len(_run(solver)[0])


def _fixed(problem, h, **options) -> RosenbrockW:
    """The solver after constant steps ``h`` from 0 to 1."""
    solver = RosenbrockW(
        problem.fun, 0.0, problem.y0, 1.0, first_step=h, max_step=h, rtol=HUGE,
        atol=HUGE, **options,
    )  # fmt: skip
    _finish(solver)
    assert solver.status == "finished" and solver.t == 1.0
    return solver


def _lu_solver(matrix):
    """A ``w_solver`` for a fixed matrix (or ``matrix(t, y)``) by a dense LU."""

    def w_solver(t, y, c):
        a = matrix(t, y) if callable(matrix) else matrix
        factors = scipy.linalg.lu_factor(np.eye(len(y)) - c * a)
        return lambda v: scipy.linalg.lu_solve(factors, v)

    return w_solver


class Riccati:
    """y' = -y^2, y(0) = 1: y = 1 / (1 + t)."""

    y0 = np.array([1.0])

    @staticmethod
    def fun(t, y):
        return -(y**2)

    @staticmethod
    def jac(t, y):
        return np.array([[-2.0 * y[0]]])

    @staticmethod
    def exact(t):
        return np.array([1.0 / (1.0 + t)])


class DampedRotation:
    """y' = -a y + |y|^2 R y (R the quarter turn): r = r0 e^{-at}, angle' = r^2."""

    a = 0.5
    y0 = np.array([1.0, 0.5])
    quarter = np.array([[0.0, -1.0], [1.0, 0.0]])

    @classmethod
    def fun(cls, t, y):
        return -cls.a * y + (y @ y) * (cls.quarter @ y)

    @classmethod
    def jac(cls, t, y):
        return (
            -cls.a * np.eye(2)
            + (y @ y) * cls.quarter
            + 2.0 * np.outer(cls.quarter @ y, y)
        )

    @classmethod
    def exact(cls, t):
        r0, angle0 = np.hypot(*cls.y0), np.arctan2(cls.y0[1], cls.y0[0])
        r = r0 * np.exp(-cls.a * t)
        angle = angle0 + r0**2 * (1.0 - np.exp(-2.0 * cls.a * t)) / (2.0 * cls.a)
        return r * np.array([np.cos(angle), np.sin(angle)])


class Forced:
    """The non-autonomous y' = cos(t) y^2, y(0) = 1/2: y = 1 / (2 - sin t)."""

    y0 = np.array([0.5])

    @staticmethod
    def fun(t, y):
        return np.cos(t) * y**2

    @staticmethod
    def jac(t, y):
        return np.array([[2.0 * np.cos(t) * y[0]]])

    @staticmethod
    def exact(t):
        return np.array([1.0 / (2.0 - np.sin(t))])


PROBLEMS = [Riccati, DampedRotation, Forced]


def _perturbed(problem):
    """The exact Jacobian plus a fixed random matrix of spectral norm 1."""
    n = problem.y0.size
    perturbation = np.random.default_rng(7).standard_normal((n, n))
    perturbation /= np.linalg.norm(perturbation, 2)
    return lambda t, y: problem.jac(t, y) + perturbation


def _global_errors(problem, **options):
    return [
        np.max(np.abs(_fixed(problem, h, **options).y - problem.exact(1.0)))
        for h in STEPS
    ]


# -- the coefficients ---------------------------------------------------------


def _order_residuals(b, order):
    """The W-method order conditions up to ``order`` for weights ``b``, as residuals.

    With :math:`\\Gamma` the full lower-triangular matrix (diagonal
    :math:`\\gamma`) and :math:`A` absent from the exact solution, the
    elementary differentials f, f'f, Af, f''(f,f), f'f'f, f'Af, Af'f, AAf
    give these conditions (Hairer and Wanner II, Sec. IV.7).
    """
    alpha, gamma = ros.ALPHA, ros.GAMMA_OFFDIAG + ros.GAMMA * np.eye(4)
    one = np.ones(4)
    nodes = alpha @ one
    residuals = [b @ one - 1.0, b @ nodes - 0.5, b @ gamma @ one]
    if order >= 3:
        residuals += [
            b @ nodes**2 - 1.0 / 3.0,
            b @ alpha @ nodes - 1.0 / 6.0,
            b @ alpha @ gamma @ one,
            b @ gamma @ nodes,
            b @ gamma @ gamma @ one,
        ]
    return np.array(residuals)


def _stability(b, z):
    """The stability function R(z) = 1 + z b (I - z (alpha + Gamma))^{-1} 1."""
    beta = ros.ALPHA + ros.GAMMA_OFFDIAG + ros.GAMMA * np.eye(4)
    return 1.0 + z * b @ np.linalg.solve(np.eye(4) - z * beta, np.ones(4))


def _coefficient_defects():
    """Every checked property of the tableau, as residuals that vanish exactly."""
    last_row = ros.ALPHA[3] + ros.GAMMA_OFFDIAG[3] + ros.GAMMA * np.eye(4)[3]
    return np.concatenate(
        [
            _order_residuals(ros.B, 3),
            _order_residuals(ros.B_HAT, 2),
            ros.B - last_row,  # stiffly accurate: y_1 is the last stage
            [abs(_stability(ros.B, -1e13))],  # R(infinity) = 0
        ]
    )


def test_coefficients_satisfy_order_conditions_and_stiff_accuracy():
    assert np.max(np.abs(_coefficient_defects())) < 1e-12
    # The embedded solution has order 2 and not 3.
    assert np.max(np.abs(_order_residuals(ros.B_HAT, 3))) > 1e-2
    # A-stable (the only pole, 1/gamma, is in the right half-plane) and L-stable.
    axis = 1j * np.concatenate([[0.0], np.logspace(-3, 8, 200)])
    assert max(abs(_stability(ros.B, z)) for z in axis) <= 1.0 + 1e-12
    assert abs(_stability(ros.B, -1e13)) < 1e-11


@pytest.mark.parametrize(
    "name", ["GAMMA", "ALPHA", "GAMMA_OFFDIAG", "B", "B_HAT"], ids=str
)
def test_a_typo_in_any_coefficient_breaks_a_checked_condition(monkeypatch, name):
    """The check above pins every coefficient: a change of 1e-9 in any one shows."""
    original = np.array(getattr(ros, name), dtype=np.float64)
    entries = [()] if original.ndim == 0 else [tuple(e) for e in np.argwhere(original)]
    for entry in entries:
        changed = original.copy()
        changed[entry] += 1e-9
        monkeypatch.setattr(ros, name, changed if original.ndim else float(changed))
        assert np.max(np.abs(_coefficient_defects())) > 1e-11, (name, entry)


# -- orders -------------------------------------------------------------------


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.__name__)
def test_order_three_with_the_exact_jacobian(problem):
    errors = _global_errors(problem, jac=problem.jac)
    assert abs(_slope(errors) - 3.0) < 0.3, errors


@pytest.mark.parametrize("problem", PROBLEMS, ids=lambda p: p.__name__)
@pytest.mark.parametrize("matrix", ["zero", "perturbed"])
def test_order_three_with_any_matrix(problem, matrix):
    """The W-property: A = 0 and A = J + E (|E| = 1) keep order 3."""
    n = problem.y0.size
    a = np.zeros((n, n)) if matrix == "zero" else _perturbed(problem)
    errors = _global_errors(problem, w_solver=_lu_solver(a))
    assert abs(_slope(errors) - 3.0) < 0.3, errors
    # The matrix matters (only) for the error constant: not the exact run.
    assert errors != _global_errors(problem, jac=problem.jac)


def _one_step(problem, h, matrix):
    apply = ros._lu_w_solver(matrix)(ros.GAMMA * h)
    y0 = problem.y0
    return ros._rosenbrock_step(problem.fun, 0.0, y0, problem.fun(0.0, y0), h, apply)


@pytest.mark.parametrize("matrix", ["exact", "zero", "perturbed"])
def test_local_orders_of_the_solution_the_embedded_solution_and_the_estimate(matrix):
    problem = DampedRotation
    y0 = problem.y0
    a = {
        "exact": problem.jac(0.0, y0),
        "zero": np.zeros((2, 2)),
        "perturbed": _perturbed(problem)(0.0, y0),
    }[matrix]
    main, embedded, estimate = [], [], []
    for h in STEPS:
        y_new, error = _one_step(problem, h, a)
        main.append(np.linalg.norm(y_new - problem.exact(h)))
        embedded.append(np.linalg.norm(y_new - error - problem.exact(h)))
        estimate.append(np.linalg.norm(error))
    assert abs(_slope(main) - 4.0) < 0.3, main  # order 3
    assert abs(_slope(embedded) - 3.0) < 0.3, embedded  # order 2
    assert abs(_slope(estimate) - 3.0) < 0.3, estimate


# -- stiffness ----------------------------------------------------------------


@pytest.mark.parametrize("jac", ["exact", "finite differences"])
def test_stiff_forcing_is_followed_in_few_steps(jac):
    lam = -1e8
    solver = RosenbrockW(
        lambda t, y: lam * (y - np.cos(t)), 0.0, [0.0], 1.0, rtol=1e-6,
        jac=[[lam]] if jac == "exact" else None,
    )  # fmt: skip
    steps = _finish(solver)
    assert solver.status == "finished"
    assert steps < 200
    assert abs(solver.y[0] - np.cos(1.0)) < 1e-5
    forced = (lam**2 * np.cos(1.0) - lam * np.sin(1.0)) / (lam**2 + 1.0)
    assert abs(solver.y[0] - forced) < 1e-9


STIFF_MATRIX = (
    np.array([[2.0, 1.0], [1.0, 1.0]])
    @ np.diag([-1.0, -1e6])
    @ np.linalg.inv(np.array([[2.0, 1.0], [1.0, 1.0]]))
)


def test_stiff_linear_system_matches_the_matrix_exponential():
    y0, rtol, atol = np.array([1.0, 2.0]), 1e-6, 1e-9
    solver = RosenbrockW(
        lambda t, y: STIFF_MATRIX @ y, 0.0, y0, 1.0, rtol=rtol, atol=atol,
        w_solver=_lu_solver(STIFF_MATRIX),
    )  # fmt: skip
    steps = _finish(solver)
    exact = scipy.linalg.expm(STIFF_MATRIX) @ y0
    assert solver.status == "finished"
    assert steps < 400
    assert np.all(np.abs(solver.y - exact) <= 10 * (atol + rtol * np.abs(exact)))


def test_stiff_steps_do_not_grow_with_stiffness():
    """L-stability: a stiffer fast mode costs no more steps once it has decayed."""
    counts = []
    for rate in (-1e4, -1e8):
        rates = np.array([-1.0, rate])
        solver = RosenbrockW(
            lambda t, y, rates=rates: rates * y, 0.0, [1.0, 1.0], 10.0, rtol=1e-6,
            atol=1e-9, jac=np.diag(rates),
        )  # fmt: skip
        counts.append(_finish(solver))
        assert abs(solver.y[0] - np.exp(-10.0)) < 1e-8 and abs(solver.y[1]) < 1e-9
    assert counts[1] < 1.5 * counts[0], counts


def robertson(t, y):
    y1, y2, y3 = y
    return np.array(
        [
            -0.04 * y1 + 1e4 * y2 * y3,
            0.04 * y1 - 1e4 * y2 * y3 - 3e7 * y2**2,
            3e7 * y2**2,
        ]
    )


def robertson_jac(t, y):
    y1, y2, y3 = y
    return np.array(
        [
            [-0.04, 1e4 * y3, 1e4 * y2],
            [0.04, -1e4 * y3 - 6e7 * y2, -1e4 * y2],
            [0.0, 6e7 * y2, 0.0],
        ]
    )


def test_robertson_agrees_with_a_tight_radau_run():
    span, y0, t_eval = (0.0, 40.0), [1.0, 0.0, 0.0], np.array([0.4, 4.0, 40.0])
    reference = solve_ivp(
        robertson, span, y0, method="Radau", rtol=1e-12, atol=1e-14,
        jac=robertson_jac, t_eval=t_eval,
    )  # fmt: skip
    assert reference.success
    rtol, atol = 1e-6, 1e-10
    solver = RosenbrockW(
        robertson, span[0], y0, span[1], rtol=rtol, atol=atol,
        w_solver=_lu_solver(robertson_jac),
    )  # fmt: skip
    values = []
    for t in t_eval:
        while solver.t < t:
            assert solver.status == "running" and len(values) < 5000
            solver.step()
        values.append(solver.dense_output()(t))
    assert solver.status == "finished"
    bound = 10 * (atol + rtol * np.abs(reference.y))
    assert np.all(np.abs(np.array(values).T - reference.y) <= bound)


# -- dense output -------------------------------------------------------------


def test_dense_output_is_as_accurate_as_the_step():
    problem = DampedRotation
    middle, end = [], []
    for h in STEPS:
        solver = RosenbrockW(
            problem.fun, 0.0, problem.y0, 1.0, first_step=h, max_step=h,
            rtol=HUGE, atol=HUGE, jac=problem.jac,
        )  # fmt: skip
        solver.step()
        dense = solver.dense_output()
        assert isinstance(dense, DenseOutput)
        assert np.array_equal(dense(h), solver.y)
        assert np.array_equal(dense(0.0), problem.y0)
        assert dense(np.array([0.0, h / 2, h])).shape == (2, 3)
        middle.append(np.linalg.norm(dense(h / 2) - problem.exact(h / 2)))
        end.append(np.linalg.norm(solver.y - problem.exact(h)))
    assert abs(_slope(middle) - 4.0) < 0.3, middle  # the local error's order
    assert np.all(np.array(middle) <= 2.0 * np.array(end))


def test_dense_output_at_midpoints_of_a_fixed_step_run():
    problem = DampedRotation
    middle, end = [], []
    for h in STEPS:
        solver = RosenbrockW(
            problem.fun, 0.0, problem.y0, 1.0, first_step=h, max_step=h,
            rtol=HUGE, atol=HUGE, w_solver=_lu_solver(np.zeros((2, 2))),
        )  # fmt: skip
        worst_middle = worst_end = 0.0
        for _ in range(int(1.5 / h)):
            solver.step()
            t = 0.5 * (solver.t_old + solver.t)
            value = solver.dense_output()(t)
            worst_middle = max(worst_middle, np.linalg.norm(value - problem.exact(t)))
            worst_end = max(
                worst_end, np.linalg.norm(solver.y - problem.exact(solver.t))
            )
            if solver.status == "finished":
                break
        middle.append(worst_middle)
        end.append(worst_end)
    assert abs(_slope(middle) - 3.0) < 0.3, middle
    assert np.all(np.array(middle) <= 1.5 * np.array(end))


# -- counts and the solve_ivp interface ---------------------------------------


class CountingSolver:
    """A ``w_solver`` that counts its calls and the solves of each call."""

    def __init__(self, jac):
        self.inner = _lu_solver(jac)
        self.calls = 0
        self.solves = []

    def __call__(self, t, y, c):
        self.calls += 1
        self.solves.append(0)
        apply = self.inner(t, y, c)

        def counted(v):
            self.solves[-1] += 1
            return apply(v)

        return counted


def test_one_w_solver_call_per_attempted_step_and_consistent_counts():
    w_solver = CountingSolver(robertson_jac)
    solver = RosenbrockW(
        robertson, 0.0, [1.0, 0.0, 0.0], 40.0, rtol=1e-6, atol=1e-10,
        w_solver=w_solver,
    )  # fmt: skip
    steps = _finish(solver)
    assert solver.status == "finished"
    assert solver.nlu == w_solver.calls > steps  # some steps were rejected
    assert set(w_solver.solves) == {4}  # one call serves the four stages
    # f(t0, y0) and the first-step choice, three stages per attempt, and
    # f(t_new, y_new) per accepted step (the next step's first stage).
    assert solver.nfev == 2 + 3 * solver.nlu + steps
    assert solver.njev == 0


def test_counts_with_a_jacobian_and_with_finite_differences():
    calls = []

    def jac(t, y):
        calls.append(t)
        return Riccati.jac(t, y)

    with_jac = RosenbrockW(Riccati.fun, 0.0, Riccati.y0, 1.0, first_step=0.1, jac=jac)
    steps = _finish(with_jac)
    assert with_jac.njev == len(calls) == steps  # one Jacobian per step
    assert with_jac.nfev == 1 + 3 * with_jac.nlu + steps
    differences = RosenbrockW(
        Riccati.fun, 0.0, Riccati.y0, 1.0, first_step=0.1, rtol=1e-6, atol=1e-9
    )
    steps = _finish(differences)
    assert differences.njev == steps
    assert differences.nfev == 1 + 3 * differences.nlu + steps + steps * 1  # n = 1
    assert abs(differences.y[0] - 0.5) < 1e-4
    constant = RosenbrockW(
        Riccati.fun, 0.0, Riccati.y0, 1.0, rtol=1e-6, atol=1e-9, jac=[[-1.0]]
    )
    _finish(constant)
    assert constant.njev == 0 and abs(constant.y[0] - 0.5) < 1e-4


def test_solve_ivp_accepts_the_solver_class():
    problem = DampedRotation
    counting = CountingSolver(problem.jac)
    sol = solve_ivp(
        problem.fun, (0.0, 2.0), problem.y0, method=RosenbrockW, rtol=1e-8,
        atol=1e-10, w_solver=counting, dense_output=True,
    )  # fmt: skip
    assert sol.success and sol.status == 0
    assert sol.nlu == counting.calls and sol.njev == 0
    assert np.allclose(sol.y[:, -1], problem.exact(2.0), rtol=0, atol=1e-7)
    times = np.linspace(0.0, 2.0, 9)
    exact = np.array([problem.exact(t) for t in times]).T
    assert np.allclose(sol.sol(times), exact, rtol=0, atol=1e-7)


def test_integrates_backwards():
    solver = RosenbrockW(
        Riccati.fun, 1.0, Riccati.exact(1.0), 0.0, rtol=1e-8, atol=1e-10,
        jac=Riccati.jac,
    )  # fmt: skip
    _finish(solver)
    assert solver.status == "finished" and solver.t == 0.0
    assert abs(solver.y[0] - 1.0) < 1e-7


def test_invalid_arguments():
    zero = np.zeros((1, 1))
    with pytest.raises(ValueError, match="not both"):
        RosenbrockW(Riccati.fun, 0.0, [1.0], 1.0, jac=zero, w_solver=_lu_solver(zero))
    with pytest.raises(ValueError, match="shape"):
        RosenbrockW(Riccati.fun, 0.0, [1.0], 1.0, jac=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="first_step"):
        RosenbrockW(Riccati.fun, 0.0, [1.0], 1.0, first_step=2.0)
    with pytest.raises(ValueError, match="max_step"):
        RosenbrockW(Riccati.fun, 0.0, [1.0], 1.0, max_step=0.0)
    with pytest.warns(UserWarning, match="no effect"):
        RosenbrockW(Riccati.fun, 0.0, [1.0], 1.0, jac=zero, min_step=1e-3)


# -- failures -----------------------------------------------------------------


class Boom(Exception):
    pass


def test_exceptions_of_fun_and_w_solver_propagate():
    def fun(t, y):
        if t > 0.5:
            raise Boom("fun")
        return -y

    solver = RosenbrockW(fun, 0.0, [1.0], 1.0, jac=[[-1.0]])
    with pytest.raises(Boom, match="fun"):
        _finish(solver)
    assert solver.t <= 0.5

    def w_solver(t, y, c):
        raise Boom("w_solver")

    solver = RosenbrockW(lambda t, y: -y, 0.0, [1.0], 1.0, w_solver=w_solver)
    with pytest.raises(Boom, match="w_solver"):
        solver.step()


def _record_outcomes(monkeypatch) -> list:
    """Record, for each attempted step, whether its stages were all finite."""
    outcomes = []
    step = ros._rosenbrock_step

    def recorded(*args):
        outcome = step(*args)
        outcomes.append(outcome is not None)
        return outcome

    monkeypatch.setattr(ros, "_rosenbrock_step", recorded)
    return outcomes


def test_non_finite_stages_shrink_the_step_and_are_never_accepted(monkeypatch):
    """Explicit (A = 0) steps that overshoot y' = -50 y into y < 0 meet NaN."""

    def fun(t, y):
        return np.where(y < 0, np.nan, -50.0 * y)

    outcomes = _record_outcomes(monkeypatch)
    solver = RosenbrockW(
        fun, 0.0, [1.0], 1.0, first_step=0.5, rtol=1e-6, atol=1e-12,
        w_solver=_lu_solver(np.zeros((1, 1))),
    )  # fmt: skip
    states, _ = _run(solver)
    assert solver.status == "finished"
    assert not all(outcomes)  # NaN stages rejected steps
    assert np.all(np.isfinite(states)) and np.all(states >= 0)
    assert abs(solver.y[0] - np.exp(-50.0)) < 1e-12


def test_a_wall_of_nan_fails_the_solver_the_scipy_way():
    def fun(t, y):
        return np.full_like(y, np.nan) if t > 0.5 else -y

    solver = RosenbrockW(fun, 0.0, [1.0], 1.0, rtol=1e-8, atol=1e-10, jac=[[-1.0]])
    states, message = _run(solver)
    assert solver.status == "failed"
    assert message == RosenbrockW.TOO_SMALL_STEP
    assert np.all(np.isfinite(states)) and solver.t <= 0.5
    assert abs(solver.y[0] - np.exp(-solver.t)) < 1e-8


def test_overflowing_stages_are_rejected_without_warnings(monkeypatch):
    """A first step that meets f = +-1e308 overflows the stages: rejected, silently."""

    def fun(t, y):
        return np.where(np.abs(y) > 1.5, 1e308 * np.sign(y), -y)

    outcomes = _record_outcomes(monkeypatch)
    solver = RosenbrockW(
        fun, 0.0, [1.0], 5.0, first_step=3.0, rtol=1e-6, atol=1e-9,
        w_solver=lambda t, y, c: lambda v: v,
    )  # fmt: skip
    states, _ = _run(solver)
    assert solver.status == "finished"
    assert not outcomes[0] and all(outcomes[1:])  # the first attempt overflowed
    assert np.all(np.abs(states) < 1.0)
    assert abs(solver.y[0] - np.exp(-5.0)) < 1e-6


def test_the_steps_land_on_the_stops_exactly():
    rates = np.array([-1.0, -1e6])
    stops = [0.1, 0.25, 0.7]

    def w_solver(t, y, c):
        return lambda v: v / (1.0 - c * rates)

    solver = RosenbrockW(
        lambda t, y: rates * y,
        0.0,
        [1.0, 1.0],
        1.0,
        w_solver=w_solver,
        tstops=stops[::-1],  # any order
        rtol=1e-3,
        atol=1e-6,
    )
    times = []
    while solver.status == "running":
        solver.step()
        times.append(solver.t)
    assert set(stops) <= set(times)
    assert times[-1] == 1.0
    with pytest.raises(ValueError, match="tstops"):
        RosenbrockW(lambda t, y: -y, 0.0, [1.0], 1.0, jac=[[-1.0]], tstops=[np.nan])
    with pytest.raises(ValueError, match="tstops"):
        RosenbrockW(lambda t, y: -y, 0.0, [1.0], 1.0, jac=[[-1.0]], tstops=0.5)
