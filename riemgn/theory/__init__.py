r"""The quantities the paper's claims are about: spectra, curvature, PL constants, rates.

Each function measures one number (or a small frozen result) that a claim of
arXiv:2412.14031 talks about (THEORY §4):

* :func:`riemgn.theory.gram_matrix`,
  :func:`riemgn.theory.neural_tangent_kernel` and
  :func:`riemgn.theory.spectrum_summary`: the Gram matrix
  :math:`G = J^\top J` (underparameterized) and the kernel
  :math:`K = JJ^\top` (overparameterized), and their extreme eigenvalues and
  condition numbers (claims C2, C5, C6);
* :func:`riemgn.theory.second_fundamental_form_norm`: the largest normal
  curvature of the output manifold, :math:`\|\mathrm{II}\| \propto
  1/\alpha` (claim C3);
* :func:`riemgn.theory.pl_constant`: the Polyak-Łojasiewicz ratio of a loss
  on the manifold, which bounds the exponential rate of the Riemannian
  gradient flow (claim C2);
* :func:`riemgn.theory.fit_exponential_rate`: the rate fitted to a measured
  excess risk :math:`h(u_t) - h^*` (claims C2, C5);
* :func:`riemgn.solvers.optimal_in_class_risk`: the optimal in-class risk
  :math:`h^*` and predictor :math:`u^*`, by a long Gauss-Newton run
  cross-checked against scipy (THEORY §4).

Developer notes
---------------
*Spectra from singular values.* The eigenvalues of :math:`G = J^\top J` and
:math:`K = JJ^\top` are the squared singular values of :math:`J` (padded with
zeros to the size of the matrix). An eigen-solver applied to the formed
matrix has an absolute error of about :math:`\varepsilon \lambda_{max}`, so
every eigenvalue below :math:`\varepsilon\lambda_{max}`, i.e. every
:math:`\sigma_i < \sqrt{\varepsilon}\,\sigma_{max}`, is noise, and
:math:`\operatorname{cond}(G) > 10^{16}` cannot be measured at all. An SVD of
:math:`J` (one-sided, :func:`manifolds.linalg.singular_values`) keeps an absolute error of
:math:`\varepsilon\sigma_{max}` on each :math:`\sigma_i`, which resolves
:math:`\lambda_i = \sigma_i^2` down to about :math:`\varepsilon^2
\lambda_{max}`.

*The norm of the second fundamental form in an orthonormal basis.* With
:math:`J = QR` (thin QR) the columns of :math:`Q` are an orthonormal basis of
:math:`T_u M` and :math:`J^+ Q e_i = R^{-1}e_i`. So

.. math::

    \mathrm{II}(Qa, Qa) = \sum_{i,j} a_i a_j T_{ij}, \qquad
    T_{ij} = P^\perp D^2F(\theta)[R^{-1}e_i, R^{-1}e_j] \in \mathbb{R}^n,

a symmetric tensor built with :math:`p(p+1)/2` calls of
``second_derivative``. Maximizing :math:`\|\mathrm{II}\|` over unit tangent
vectors is maximizing the quartic form :math:`f(a) = \|T(a,a)\|^2` on the unit
sphere of :math:`\mathbb{R}^p`, a largest-eigenvalue problem of a symmetric
fourth-order tensor (NP-hard in general, hence the multistart). The
shifted symmetric higher-order power method (SS-HOPM, Kolda and Mayo 2011),
:math:`a \leftarrow (g(a) + \sigma a)/\|\cdot\|` with :math:`g = \nabla f/4`,
is monotone for a large enough shift but was measured to crawl for hundreds
of iterations past saddle points of :math:`f` on the sphere (a power step
is a gradient step, and escapes a saddle only as fast as its small positive
curvature allows). So each start runs a monotone second-order ascent on the
sphere instead. At each iterate :math:`a`, with :math:`U` an orthonormal
basis of :math:`a^\perp`, the Riemannian gradient :math:`U^\top g` and
Hessian :math:`U^\top(2\,T_a T_a^\top + \sum_m T_m(a,a) T_m - f I)U` of
:math:`f/4` (:math:`T_a` the :math:`p\times n` matrix of rows
:math:`T(e_i, a)`, :math:`T_m` the slice of output :math:`m`) give up to
three candidates, and the best one is kept if it increases :math:`f`:

* the maximum on the great circle along the gradient (exact line search:
  on :math:`a\cos t + d\sin t`, :math:`T(\cdot,\cdot)` is a quadratic
  trigonometric polynomial in :math:`t`, so a grid plus Brent's method
  finds it cheaply);
* where the Hessian has a positive eigenvalue (a saddle or a minimum), the
  maximum on the great circle along its eigenvector, which escapes a saddle
  in one step;
* where the Hessian is negative definite, the Riemannian Newton step,
  which converges quadratically to the local maximum.

Before the ascent :math:`T` is divided by :math:`\|T_{(1)}\|_2`, the spectral
norm of its :math:`p \times pn` unfolding (an upper bound on
:math:`\max_{\|a\|=1}\|T(a,a)\|`), so that the stopping rule is scale-free.

*Why exactly* :math:`1/\alpha`. For :math:`F_\alpha = \alpha F_1`,
:math:`J_\alpha = \alpha J_1` has the same :math:`Q` and :math:`R_\alpha =
\alpha R_1`, so :math:`T^{(\alpha)} = \alpha\, \alpha^{-2} T^{(1)} =
T^{(1)}/\alpha`: the whole maximization is the same up to one scale factor,
and :math:`\alpha \|\mathrm{II}_\alpha\|` is constant to round-off.
"""

from riemgn.theory.curvature import (
    SecondFundamentalFormNorm,
    second_fundamental_form_norm,
)
from riemgn.theory.pl import pl_constant
from riemgn.theory.rates import ExponentialFit, fit_exponential_rate
from riemgn.theory.spectra import (
    SpectrumSummary,
    gram_matrix,
    neural_tangent_kernel,
    spectrum_summary,
)

__all__ = [
    "ExponentialFit",
    "SecondFundamentalFormNorm",
    "SpectrumSummary",
    "fit_exponential_rate",
    "gram_matrix",
    "neural_tangent_kernel",
    "pl_constant",
    "second_fundamental_form_norm",
    "spectrum_summary",
]
