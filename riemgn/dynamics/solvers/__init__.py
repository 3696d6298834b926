r"""Discrete-time Gauss-Newton and Levenberg-Marquardt dynamics, with result objects.

Four solvers minimize :math:`h(F(\theta))` for an output map
:math:`F: \mathbb{R}^p \to \mathbb{R}^n` and a loss :math:`h` on its outputs:

* :func:`riemgn.solvers.gauss_newton`: :math:`\theta \leftarrow \theta +
  s\,\eta` with :math:`\eta = -(J^\top WJ)^{-1}J^\top\nabla h`, which is
  :math:`-J^+(u - y)` for the squared loss;
* :func:`riemgn.solvers.levenberg_marquardt`: :math:`\theta \leftarrow
  \theta + \delta` with :math:`\delta = -(J^\top WJ + \lambda
  I)^{-1}J^\top\nabla h`, the damping :math:`\lambda` set by Nielsen's rule,
  a trust region or a schedule;
* :func:`riemgn.solvers.gradient_descent`: :math:`\theta \leftarrow \theta
  - sJ^\top\nabla h`, the first-order baseline (claim C6);
* :func:`riemgn.solvers.riemannian_optimize` (also under its first name
  :func:`riemgn.solvers.riemannian_gradient_descent`): pymanopt's optimizers
  on the output manifold itself, for comparison.

The Gauss-Newton, Levenberg-Marquardt and gradient-descent loops share their
bookkeeping and one set of stopping tests (``gtol`` at each new Jacobian,
then ``ftol`` and ``xtol`` after each step), and factorize :math:`J` only
through :mod:`manifolds.linalg`. :func:`riemgn.solvers.optimal_in_class_risk`
computes the optimal in-class risk :math:`h^*` with them.

Here :math:`W = \nabla^2 h(u)` is the (diagonal) Hessian of the loss at
:math:`u = F(\theta)`, :math:`W = I` for ``SquaredLoss(y)`` (see the
developer notes). Each solver returns a frozen
:class:`riemgn.solvers.SolverResult` whose ``status`` is a
:class:`riemgn.solvers.SolverStatus`; all messages sit in
:data:`riemgn.solvers.SOLVER_MESSAGES`.

Developer notes
---------------
*Gauss-Newton is Riemannian gradient descent.* With :math:`P_u = JJ^+` the
orthogonal projector onto :math:`T_uM = \operatorname{range} J`, the
Riemannian gradient of :math:`h` on :math:`M` (metric weight 1) is
:math:`\operatorname{grad} h(u) = P_u\nabla h(u)`, and the chart retraction
is :math:`R_u(\xi) = F(\theta + J^+\xi)`. Because :math:`J^+P_u = J^+`,

.. math::

    R_u(-s\operatorname{grad} h(u)) = F(\theta - s J^+P_u\nabla h)
        = F(\theta - s J^+\nabla h),

so for :math:`h(u) = \tfrac12\|u - y\|^2` one Gauss-Newton step *is* one
step of Riemannian gradient descent with the chart retraction, and the
direction :math:`-J^+(u - y) = -J^+\nabla h` is the classical Gauss-Newton
step. :math:`J^+g` is computed from the thin QR of :math:`J`
(:func:`manifolds.linalg.factorize`): the normal equations would
square :math:`\operatorname{cond}(J)`.

*The weighted model.* For a general loss both solvers minimize the
second-order model of :math:`h` around :math:`u` composed with the
linearization :math:`u + J\delta` of :math:`F` (see *Gain ratio* below).
With :math:`W = \nabla^2 h(u)`, diagonal for the separable losses of
:mod:`riemgn.losses` (``loss.hessian_diagonal``; :math:`W = I` for a loss
without it), its damped minimizer is

.. math::

    \delta = -(J^\top W J + \lambda I)^{-1} J^\top \nabla h
           = -\arg\min_\eta
             \big\|[W^{1/2}J;\ \sqrt\lambda I]\,\eta - [W^{-1/2}\nabla h;\ 0]\big\|,

so the solvers factorize the weighted pair :math:`(W^{1/2}J,
W^{-1/2}\nabla h)` in place of :math:`(J, \nabla h)` (entries with
:math:`W_{ii} = 0` get a zero right-hand side). For the squared loss
:math:`\tfrac{s}{2}\|u - y\|^2`, :math:`W = sI` and the Gauss-Newton step
is :math:`-J^+(u - y)` whatever :math:`s`; the LM damping then acts as
:math:`\lambda/s` on :math:`(J, u - y)`.

*Levenberg-Marquardt in two forms.* The identity
:math:`(J^\top J + \lambda I)^{-1}J^\top = J^\top(JJ^\top + \lambda I)^{-1}`
gives two ways to the same step (:math:`J` and :math:`g` stand for the
weighted pair here).

- :math:`p \le n`: each Jacobian is factorized once, :math:`J = QR`. Since
  :math:`\|J\eta - g\|^2 = \|R\eta - Q^\top g\|^2 + \text{const}`, the
  damped least-squares problem :math:`\min\|[J; \sqrt\lambda I]\eta - [g; 0]\|`
  equals :math:`\min\|[R; \sqrt\lambda I]\eta - [Q^\top g; 0]\|`, a
  :math:`2p \times p` QR per trial damping instead of an :math:`(n+p) \times p`
  one (MINPACK's trick).
- :math:`p > n`: the kernel form :math:`J^\top(K + \lambda I)^{-1}g` through
  the thin SVD of :math:`J` (``manifolds.linalg.kernel_factorization``).
  Only :math:`n \times n` and :math:`n \times p` arrays exist; nothing of
  size :math:`p \times p` is ever allocated.

*Gain ratio.* A trial step :math:`\delta` is judged by

.. math::

    \rho = \frac{h(F(\theta)) - h(F(\theta + \delta))}{m(0) - m(\delta)},
    \qquad
    m(\delta) = h + \nabla h^\top J\delta
        + \tfrac12 (J\delta)^\top \nabla^2 h\, (J\delta),

the model being the second-order expansion of :math:`h` around :math:`u`
composed with the linearization :math:`u + J\delta` of :math:`F`
(:math:`\nabla^2 h` is applied through ``loss.hessian_vector``). A step
whose outputs are not finite, or for which the model predicts no decrease,
gets :math:`\rho = -\infty` and is rejected.

*Trust region.* Moré's method: with the thin SVD :math:`J = U\Sigma V^\top`
and :math:`c = U^\top g`, the step length
:math:`\|\delta(\lambda)\|^2 = \sum_i \sigma_i^2c_i^2/(\sigma_i^2 + \lambda)^2`
is decreasing in :math:`\lambda`, and :math:`1/\|\delta(\lambda)\|` is
concave and almost linear, so Newton's method on
:math:`1/\|\delta(\lambda)\| = 1/\Delta`, safeguarded by the bracket
:math:`0 \le \lambda \le \|\Sigma c\|/\Delta`, solves the secular equation
in a few cheap iterations.
"""

from __future__ import annotations

from riemgn.dynamics.solvers import _results
from riemgn.dynamics.solvers._gauss_newton import gauss_newton
from riemgn.dynamics.solvers._gradient_descent import gradient_descent
from riemgn.dynamics.solvers._levenberg_marquardt import levenberg_marquardt
from riemgn.dynamics.solvers._pymanopt import (
    riemannian_gradient_descent,
    riemannian_optimize,
)
from riemgn.dynamics.solvers._results import (
    IterationInfo,
    SolverError,
    SolverHistory,
    SolverResult,
    SolverStatus,
)
from riemgn.dynamics.solvers.optimum import InClassOptimum, optimal_in_class_risk

#: The opening of each status's message; the solver appends the specifics.
SOLVER_MESSAGES = _results.SOLVER_MESSAGES

__all__ = [
    "SOLVER_MESSAGES",
    "InClassOptimum",
    "IterationInfo",
    "SolverError",
    "SolverHistory",
    "SolverResult",
    "SolverStatus",
    "gauss_newton",
    "gradient_descent",
    "levenberg_marquardt",
    "optimal_in_class_risk",
    "riemannian_gradient_descent",
    "riemannian_optimize",
]
