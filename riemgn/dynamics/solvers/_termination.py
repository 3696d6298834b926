r"""The stopping tests, shared by every solver.

One function per moment of an iteration, as scipy's
``optimize/_lsq/common.py`` ``check_termination`` is shared by its trust-region
solvers:

- :func:`check_gradient`, at each new Jacobian: :math:`\|J^\top\nabla h\|_2
  \le` ``gtol``;
- :func:`check_termination`, after a step: the relative loss reduction
  :math:`|h_k - h_{k+1}| \le` ``ftol`` :math:`\cdot h_k` (for a
  Levenberg-Marquardt step also :math:`\rho > 0.25`), then the relative step
  :math:`\|\delta\| \le` ``xtol`` :math:`(` ``xtol`` :math:`+ \|\theta_k\|)`.

Each returns ``(status, detail)`` or None; the solver turns the pair into its
result with ``_Run.finish``.
"""

from __future__ import annotations

from riemgn.dynamics.solvers._results import SolverStatus

#: A Levenberg-Marquardt step counts for the ftol test only above this gain ratio.
FTOL_MIN_GAIN_RATIO = 0.25


def check_gradient(gradient_norm: float, gtol: float):
    """The first-order test: ``(CONVERGED_GTOL, detail)`` or None."""
    if gradient_norm <= gtol:
        return (
            SolverStatus.CONVERGED_GTOL,
            f"|J^T grad h| = {gradient_norm:.3e} <= gtol = {gtol:.3e}",
        )
    return None


def check_termination(
    decrease: float,
    loss_value: float,
    step_norm: float,
    params_norm: float,
    tol: dict,
    *,
    gain_ratio: float | None = None,
    accepted: bool = True,
):
    r"""The ftol then xtol test after a step: ``(status, detail)`` or None.

    Parameters
    ----------
    decrease : float
        :math:`h_k - h_{k+1}`, the actual decrease of the trial step.
    loss_value : float
        :math:`h_k`.
    step_norm, params_norm : float
        :math:`\|\delta\|` and :math:`\|\theta_k\|`.
    tol : dict
        ``ftol`` and ``xtol`` (0 disables a test, except for an exactly zero
        change).
    gain_ratio : float, optional
        :math:`\rho` of a step judged by its gain ratio (Levenberg-Marquardt):
        the ftol test then also needs :math:`\rho > 0.25`, as in scipy.
    accepted : bool, default True
        Whether the step was taken; the ftol test applies to taken steps only.
    """
    ftol, xtol = tol["ftol"], tol["xtol"]
    if (
        accepted
        and (gain_ratio is None or gain_ratio > FTOL_MIN_GAIN_RATIO)
        and abs(decrease) <= ftol * loss_value
    ):
        return (
            SolverStatus.CONVERGED_FTOL,
            f"the loss changed by {abs(decrease):.3e} <= ftol * h = {ftol:.3e} * "
            f"{loss_value:.6e}",
        )
    if step_norm <= xtol * (xtol + params_norm):
        return (
            SolverStatus.CONVERGED_XTOL,
            f"|step| = {step_norm:.3e} <= xtol * (xtol + |theta|) with xtol = "
            f"{xtol:.3e}, |theta| = {params_norm:.3e}",
        )
    return None
