r"""The kernel at a reference point, reused along a flow: :class:`ReferenceKernel`.

Along a flow the kernel :math:`K_t = J(\theta_t)J(\theta_t)^\top` changes
slowly, while its eigendecomposition costs :math:`O(n^3)` (12.6 s at
:math:`n = 4000` on one core) and a product :math:`K_t v = J(J^\top v)`
only :math:`O(np)` (two passes through the network, 26 ms there). So the
eigendecomposition :math:`K_r = U\Lambda U^\top` is taken once, at a
reference point :math:`\theta_r`, and every later point reuses it:

- :math:`(K_t + \lambda I)x = g` by preconditioned CG
  (:func:`manifolds._krylov.kernel_cg`) with :math:`P^{-1} = U(\Lambda +
  \lambda I)^{-1}U^\top`, the exact inverse at :math:`\theta_r`. The
  preconditioned matrix is :math:`I + O(\|K_t - K_r\|/(\lambda_{min}+\lambda))`
  in the relative sense that matters for CG, so a few iterations suffice
  while the kernel is near the reference, whatever :math:`\lambda/\lambda_{max}`;
- :math:`\lambda_{min}(K_t)` by preconditioned steepest descent with
  Rayleigh-Ritz on :math:`\{x, Tr\}` (Knyazev's LOBPCG without its third
  vector), :math:`T = U(\Lambda + \mu I)^{-1}U^\top` with :math:`\mu =
  \max(\lambda_{min}(K_r), \epsilon\lambda_{max}(K_r))`, from the reference's
  eigenvector :math:`u_n`, or from the eigenvector found at the previous
  point (:attr:`ReferenceKernel.last_vector`). The Rayleigh quotient is :math:`\|J^\top x\|^2`
  (no cancellation when it is tiny). It stops when
  :math:`\|K_t x - \rho x\| \le \mathtt{tol}\,\lambda_{max}` (then :math:`\rho`
  is an exact eigenvalue of a matrix that close to :math:`K_t`), or when the
  Kato-Temple bound :math:`\|K_t x - \rho x\|^2/\text{gap}` on the distance
  from :math:`\rho` to an eigenvalue is at most :math:`\mathtt{tol}\,\rho`,
  with half the reference's gap :math:`(\lambda_{n-1}(K_r) - \rho)/2` as
  the gap. That it is the
  *smallest* one is checked against the Rayleigh quotient of the next
  reference eigenvector :math:`u_{n-1}`: an eigenvalue crossing fails the
  check (a :class:`~manifolds.exceptions.KrylovConvergenceError`);
- :math:`\lambda_{max}(K_t)` is estimated by :math:`\lambda_{max}(K_r)`
  (the flows use it only to scale tolerances);
- :math:`(I + cJ_t^\top J_t)^{-1}v = v - J_t^\top(K_t + I/c)^{-1}J_tv`
  (Woodbury, :meth:`ReferencedKernelFactorization.woodbury`), the linear
  systems of a Rosenbrock-W step of the gradient flow, with the kernel
  system solved by the same CG.

When CG or the eigenvalue iteration misses its tolerance the caller takes a
new reference at the current point, where the preconditioner is exact.
"""

from __future__ import annotations

import math

import numpy as np
import scipy.linalg

from manifolds import linalg
from manifolds._krylov import KrylovInfo, _check_operator, _solve, kernel_cg
from manifolds.exceptions import KrylovConvergenceError
from manifolds.validation import (
    as_finite_array,
    as_finite_vector,
    check_positive_int,
    check_positive_real,
    describe,
)

__all__ = [
    "ReferenceKernel",
    "ReferencedKernelFactorization",
    "kernel_eigen",
    "smallest_kernel_eigenpair",
]

#: CG iterations of one solve before it is declared failed.
REFERENCE_MAXITER = 100
#: Eigenvalue iterations before the estimate of lambda_min is declared failed.
EIGEN_MAXITER = 30
#: Columns of K formed per block of products when there is no closed form.
_KERNEL_BLOCK = 64


def _formed_kernel(J) -> np.ndarray:
    """:math:`JJ^\\top` from blocks of products (no closed form)."""
    n = J.shape[0]
    K = np.empty((n, n))
    for start in range(0, n, _KERNEL_BLOCK):
        stop = min(n, start + _KERNEL_BLOCK)
        E = np.zeros((n, stop - start))
        E[np.arange(start, stop), np.arange(stop - start)] = 1.0
        K[:, start:stop] = J.matmat(J.rmatmat(E))
    return (K + K.T) / 2


def kernel_eigen(K: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""The eigenvalues, decreasing and clipped at 0, and eigenvectors of a kernel.

    ``scipy.linalg.eigh`` of the symmetric positive semi-definite :math:`K`:
    each eigenvalue within about :math:`\epsilon\|K\|` of the exact one.

    Parameters
    ----------
    K : ndarray, shape (n, n)
        Symmetric positive semi-definite (its lower triangle is read).

    Returns
    -------
    eigenvalues : ndarray, shape (n,)
        Decreasing, :math:`\ge 0`.
    U : ndarray, shape (n, n)
        Orthonormal eigenvectors, column ``i`` for ``eigenvalues[i]``.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import kernel_eigen
    >>> eigenvalues, U = kernel_eigen(np.array([[2.0, 0.0], [0.0, 3.0]]))
    >>> eigenvalues
    array([3., 2.])
    """
    eigenvalues, U = scipy.linalg.eigh(K, check_finite=False)
    order = np.argsort(eigenvalues)[::-1]
    return np.maximum(eigenvalues[order], 0.0), U[:, order]


def smallest_kernel_eigenpair(
    K: np.ndarray, *, tol: float = linalg.KRYLOV_TOL, maxiter: int = 200
) -> tuple[float, np.ndarray]:
    r""":math:`\lambda_{min}(K)` and a unit eigenvector, by inverse iteration.

    A sixth of the work of :func:`kernel_eigen` at large ``n``: one Cholesky
    factorization :math:`K = R^\top R` (:math:`n^3/3` flops), then
    :math:`x \leftarrow K^{-1}x/\|K^{-1}x\|` from a fixed start, until the
    residual :math:`\|Kx - \rho x\|` of the Rayleigh quotient
    :math:`\rho = \|Rx\|^2` is at most ``tol`` :math:`\|K\|_1`. Then
    :math:`\rho` is an exact eigenvalue of a matrix within that distance of
    :math:`K`, and within :math:`\|Kx - \rho x\|^2/\text{gap}` of
    :math:`\lambda_{min}`. When :math:`K` is not numerically definite (the
    Cholesky factorization fails) or the iteration does not converge within
    ``maxiter`` (a small gap), the answer is :func:`kernel_eigen`'s.

    Parameters
    ----------
    K : ndarray, shape (n, n)
        Symmetric positive semi-definite.
    tol : float, default KRYLOV_TOL
        The residual tolerance, relative to :math:`\|K\|_1`.
    maxiter : int, default 200
        Inverse iterations before the fallback to :func:`kernel_eigen`.

    Returns
    -------
    lambda_min : float
    x : ndarray, shape (n,)
        A unit eigenvector.

    Examples
    --------
    >>> import numpy as np
    >>> from manifolds.linalg import smallest_kernel_eigenpair
    >>> K = np.diag([3.0, 1e-6, 2.0])
    >>> value, x = smallest_kernel_eigenpair(K)
    >>> bool(abs(value - 1e-6) < 1e-18), bool(abs(abs(x[1]) - 1.0) < 1e-12)
    (True, True)
    """
    tol = check_positive_real("tol", tol)
    maxiter = check_positive_int("maxiter", maxiter)
    n = K.shape[0]
    norm = float(np.max(np.sum(np.abs(K), axis=0), initial=0.0))
    R, shift = linalg.gram_factor(np.array(K, dtype=np.float64, order="F"))
    if shift == 0 and norm > 0:  # numerically definite
        x = np.sin(0.5 + np.arange(n) * (math.sqrt(5.0) - 1.0))  # a fixed start
        x /= np.linalg.norm(x)
        for _ in range(maxiter):
            x = _solve(R, _solve(R, x, "T"))
            x /= np.linalg.norm(x)
            rho = float(np.sum((R @ x) ** 2))
            if np.linalg.norm(K @ x - rho * x) <= tol * norm:
                return rho, x
    eigenvalues, U = kernel_eigen(K)
    return float(eigenvalues[-1]), U[:, -1].copy()


class ReferenceKernel:
    r"""The eigendecomposition of :math:`K_r = J_rJ_r^\top` at a reference point.

    See the module docstring of ``manifolds._reference``: :meth:`at` gives
    the kernel form at another point :math:`\theta_t` by CG preconditioned
    with :math:`K_r`'s eigendecomposition, and :math:`\lambda_{min}(K_t)`
    by a preconditioned eigenvalue iteration.

    Parameters
    ----------
    J : JacobianOperator
        The Jacobian at the reference point, shape ``(n, p)``.
    kernel : ndarray, shape (n, n), optional
        :math:`K_r` in closed form; by default formed from products.
    tol : float, default KRYLOV_TOL
        The relative tolerance of CG and of the eigenvalue iteration.
    maxiter : int, default REFERENCE_MAXITER
        CG iterations before a solve fails.
    progress : bool, optional
        CG's progress bar (``None``: shown after 2 s on a terminal).

    Raises
    ------
    ValueError
        If ``tol`` is not in (0, 1) or ``kernel`` has the wrong shape or is
        not finite.
    TypeError
        If ``J`` is not a :class:`~manifolds.linalg.JacobianOperator`.

    Attributes
    ----------
    U : ndarray, shape (n, n)
        The eigenvectors of :math:`K_r`.
    eigenvalues : ndarray, shape (n,)
        Its eigenvalues, decreasing.
    last_vector : ndarray, shape (n,) or None
        The eigenvector of :math:`\lambda_{min}` found at the last point, the
        start of the next point's iteration.

    Examples
    --------
    >>> import numpy as np
    >>> import autograd.numpy as anp
    >>> from manifolds import AutogradOutputMap
    >>> from manifolds.linalg import JacobianOperator, ReferenceKernel
    >>> from manifolds.linalg import kernel_factorization
    >>> F = AutogradOutputMap(  # n = 3 outputs, p = 6 parameters
    ...     lambda w: anp.tanh(X[:3] @ w.reshape(2, 3)).sum(axis=1), n_params=6)
    >>> theta_r = np.linspace(-0.5, 0.6, 6)
    >>> reference = ReferenceKernel(JacobianOperator(F, theta_r))
    >>> theta = theta_r + 0.01
    >>> here = reference.at(JacobianOperator(F, theta))
    >>> dense = kernel_factorization(F.jacobian(theta))
    >>> g = np.arange(3.0)
    >>> bool(np.allclose(here.direction(g, 0.1), dense.direction(g, 0.1), rtol=1e-10))
    True
    >>> bool(np.isclose(here.lambda_min, dense.lambda_min, rtol=1e-8))
    True
    """

    def __init__(
        self, J, *, kernel=None, tol=linalg.KRYLOV_TOL, maxiter=None, progress=None
    ):
        self.J = _check_operator(J)
        self.tol = check_positive_real("tol", tol)
        if not self.tol < 1:
            raise ValueError(f"`tol` must be in (0, 1), got {describe(tol)}")
        self.maxiter = (
            REFERENCE_MAXITER
            if maxiter is None
            else check_positive_int("maxiter", maxiter)
        )
        if progress is not None and not isinstance(progress, bool):
            raise TypeError(
                f"`progress` must be None, True or False, got {describe(progress)}"
            )
        self.progress = progress
        n = self.J.shape[0]
        if kernel is None:
            kernel = _formed_kernel(self.J)
        kernel = as_finite_array("kernel", kernel, ndim=2)
        if kernel.shape != (n, n):
            raise ValueError(f"`kernel` must have shape ({n}, {n}), got {kernel.shape}")
        self.eigenvalues, self.U = kernel_eigen(kernel)
        self.last_vector: np.ndarray | None = None

    @property
    def nbytes(self) -> int:
        """The bytes of the eigendecomposition."""
        return int(self.U.nbytes + self.eigenvalues.nbytes)

    def precondition(self, shift: float):
        r"""The map :math:`r \mapsto U(\Lambda + \text{shift}\,I)^{-1}U^\top r`.

        A zero shift is raised to :math:`\epsilon\lambda_{max}` where an
        eigenvalue is zero.

        Parameters
        ----------
        shift : float
            :math:`\ge 0`.

        Returns
        -------
        callable
            ``(n,) -> (n,)``.

        Examples
        --------
        >>> import numpy as np
        >>> import autograd.numpy as anp
        >>> from manifolds import AutogradOutputMap
        >>> from manifolds.linalg import JacobianOperator, ReferenceKernel
        >>> F = AutogradOutputMap(  # n = 3 outputs, p = 6 parameters
        ...     lambda w: anp.tanh(X[:3] @ w.reshape(2, 3)).sum(axis=1), n_params=6)
        >>> theta_r = np.linspace(-0.5, 0.6, 6)
        >>> reference = ReferenceKernel(JacobianOperator(F, theta_r))
        >>> apply = reference.precondition(0.5)
        >>> K = F.jacobian(theta_r)
        >>> K = K @ K.T
        >>> g = np.arange(3.0)
        >>> bool(np.allclose((K + 0.5 * np.eye(3)) @ apply(g), g))
        True
        """
        shift = check_positive_real("shift", shift, allow_zero=True)
        floor = np.finfo(np.float64).eps * float(self.eigenvalues[0])
        denominator = np.maximum(self.eigenvalues + shift, max(floor, 1e-300))
        U = self.U

        def apply(r):
            return U @ ((U.T @ r) / denominator)

        return apply

    def at(self, J) -> ReferencedKernelFactorization:
        """The kernel form at another point, with this reference's preconditioner.

        Parameters
        ----------
        J : JacobianOperator
            The Jacobian there, of the reference's shape.

        Returns
        -------
        ReferencedKernelFactorization

        Raises
        ------
        ValueError
            If the shape differs from the reference's.
        TypeError
            If ``J`` is not a :class:`~manifolds.linalg.JacobianOperator`.

        Examples
        --------
        >>> import numpy as np
        >>> import autograd.numpy as anp
        >>> from manifolds import AutogradOutputMap
        >>> from manifolds.linalg import JacobianOperator, ReferenceKernel
        >>> F = AutogradOutputMap(  # n = 3 outputs, p = 6 parameters
        ...     lambda w: anp.tanh(X[:3] @ w.reshape(2, 3)).sum(axis=1), n_params=6)
        >>> theta_r = np.linspace(-0.5, 0.6, 6)
        >>> reference = ReferenceKernel(JacobianOperator(F, theta_r))
        >>> here = reference.at(JacobianOperator(F, theta_r + 0.01))
        >>> here.kernel_eigenvalues.shape
        (2,)
        """
        J = _check_operator(J)
        if J.shape != self.J.shape:
            raise ValueError(
                f"`J` must have the reference's shape {self.J.shape}, got {J.shape}"
            )
        return ReferencedKernelFactorization(self, J)


class ReferencedKernelFactorization:
    r"""The kernel form at :math:`\theta_t`, solved with a :class:`ReferenceKernel`.

    Made by :meth:`ReferenceKernel.at`. Its :attr:`kernel_eigenvalues` are
    :math:`[\lambda_{max}, \lambda_{min}]` estimates, computed on first use;
    :meth:`direction` and :meth:`output_velocity` solve
    :math:`(K_t + \lambda I)x = g` by CG.

    Parameters
    ----------
    reference : ReferenceKernel
        The reference whose eigendecomposition preconditions.
    J : JacobianOperator
        The Jacobian :math:`J_t` at the point.

    Attributes
    ----------
    last_info : KrylovInfo or None
        The last CG solve's iterations and residual.
    eigen_iterations : int
        The iterations of the :math:`\lambda_{min}` estimate (0 before it).

    Examples
    --------
    >>> import numpy as np
    >>> import autograd.numpy as anp
    >>> from manifolds import AutogradOutputMap
    >>> from manifolds.linalg import JacobianOperator, ReferenceKernel
    >>> F = AutogradOutputMap(  # n = 3 outputs, p = 6 parameters
    ...     lambda w: anp.tanh(X[:3] @ w.reshape(2, 3)).sum(axis=1), n_params=6)
    >>> theta_r = np.linspace(-0.5, 0.6, 6)
    >>> reference = ReferenceKernel(JacobianOperator(F, theta_r))
    >>> here = reference.at(JacobianOperator(F, theta_r))
    >>> bool(here.lambda_min > 0)
    True
    """

    def __init__(self, reference: ReferenceKernel, J):
        self.reference, self.J = reference, J
        self.last_info: KrylovInfo | None = None
        self.eigen_iterations = 0
        self._extremes: np.ndarray | None = None

    @property
    def kernel_eigenvalues(self) -> np.ndarray:
        r""":math:`[\lambda_{max}, \lambda_{min}]` of :math:`K_t` (module docstring).

        Raises ``KrylovConvergenceError`` when the :math:`\lambda_{min}`
        iteration misses its tolerance or finds an eigenvalue crossing.
        """
        if self._extremes is None:
            largest = float(self.reference.eigenvalues[0])
            self._extremes = np.array([largest, self._lambda_min(largest)])
        return self._extremes

    @property
    def lambda_min(self) -> float:
        r""":math:`\lambda_{min}(K_t)`."""
        return float(self.kernel_eigenvalues[-1])

    def _lambda_min(self, largest: float) -> float:
        reference, J = self.reference, self.J
        tol = reference.tol * max(largest, float(reference.eigenvalues[0]))
        precondition = reference.precondition(float(reference.eigenvalues[-1]))
        second = float(reference.eigenvalues[-2]) if J.shape[0] > 1 else math.inf
        x = reference.last_vector
        x = reference.U[:, -1] if x is None else x
        y = J.rmatvec(x)
        rho = float(y @ y)
        for iteration in range(1, EIGEN_MAXITER + 1):
            r = J.matvec(y) - rho * x
            norm_r = float(np.linalg.norm(r))
            # A backward error of tol lambda_max, or (Kato-Temple, with half
            # the reference's gap) rho within reference.tol * rho of lambda_min.
            if norm_r <= tol or norm_r**2 <= reference.tol * rho * 0.5 * (second - rho):
                self.eigen_iterations = iteration
                rho = self._checked(rho, tol)
                reference.last_vector = x
                return rho
            w = precondition(r)
            w -= (x @ w) * x
            norm = float(np.linalg.norm(w))
            if not norm > 0 or not math.isfinite(norm):
                break
            w /= norm
            Y = np.column_stack([y, J.rmatvec(w)])
            H = Y.T @ Y
            values, vectors = np.linalg.eigh((H + H.T) / 2)
            c = vectors[:, 0]
            x = c[0] * x + c[1] * w
            scale = float(np.linalg.norm(x))
            x, y = x / scale, (Y @ c) / scale
            rho = float(y @ y)
        self.eigen_iterations = EIGEN_MAXITER
        raise KrylovConvergenceError(EIGEN_MAXITER, float(np.linalg.norm(r)) / tol, 1.0)

    def _checked(self, rho: float, tol: float) -> float:
        """``rho``, unless the next reference eigenvector shows a smaller eigenvalue."""
        second = (
            self.J.rmatvec(self.reference.U[:, -2]) if self.J.shape[0] > 1 else None
        )
        if second is not None and float(second @ second) < rho - tol:
            raise KrylovConvergenceError(self.eigen_iterations, math.inf, tol)
        return rho

    def woodbury(self, c: float):
        r"""The map :math:`v \mapsto (I + cJ_t^\top J_t)^{-1}v`, :math:`c > 0`, by CG.

        :math:`v - J_t^\top(K_t + I/c)^{-1}J_tv`, the kernel system solved by
        :meth:`solve`.

        Parameters
        ----------
        c : float
            :math:`c > 0`.

        Returns
        -------
        callable
            ``(p,) -> (p,)``; it raises ``KrylovConvergenceError`` if CG
            misses its tolerance.

        Examples
        --------
        >>> import numpy as np
        >>> import autograd.numpy as anp
        >>> from manifolds import AutogradOutputMap
        >>> from manifolds.linalg import JacobianOperator, ReferenceKernel
        >>> F = AutogradOutputMap(  # n = 3 outputs, p = 6 parameters
        ...     lambda w: anp.tanh(X[:3] @ w.reshape(2, 3)).sum(axis=1), n_params=6)
        >>> theta_r = np.linspace(-0.5, 0.6, 6)
        >>> reference = ReferenceKernel(JacobianOperator(F, theta_r))
        >>> here = reference.at(JacobianOperator(F, theta_r + 0.01))
        >>> J = F.jacobian(theta_r + 0.01)
        >>> v = np.arange(6.0)
        >>> x = here.woodbury(0.7)(v)
        >>> bool(np.allclose(x + 0.7 * J.T @ (J @ x), v))
        True
        """
        c = check_positive_real("c", c)
        J = self.J

        def apply(v):
            return v - J.rmatvec(self.solve(J.matvec(v), 1.0 / c))

        return apply

    def solve(self, g, damping) -> np.ndarray:
        r""":math:`(K_t + \lambda I)^{-1}g`, by CG preconditioned with the reference.

        Parameters
        ----------
        g : array_like, shape (n,)
        damping : float
            :math:`\lambda \ge 0`.

        Returns
        -------
        ndarray, shape (n,)

        Raises
        ------
        KrylovConvergenceError
            If CG misses its tolerance within the reference's ``maxiter``.

        Examples
        --------
        >>> import numpy as np
        >>> import autograd.numpy as anp
        >>> from manifolds import AutogradOutputMap
        >>> from manifolds.linalg import JacobianOperator, ReferenceKernel
        >>> F = AutogradOutputMap(  # n = 3 outputs, p = 6 parameters
        ...     lambda w: anp.tanh(X[:3] @ w.reshape(2, 3)).sum(axis=1), n_params=6)
        >>> theta_r = np.linspace(-0.5, 0.6, 6)
        >>> reference = ReferenceKernel(JacobianOperator(F, theta_r))
        >>> J = F.jacobian(theta_r + 0.01)
        >>> here = reference.at(JacobianOperator(F, theta_r + 0.01))
        >>> g = np.arange(3.0)
        >>> bool(np.allclose((J @ J.T + 0.5 * np.eye(3)) @ here.solve(g, 0.5), g))
        True
        """
        g = as_finite_vector("g", g, self.J.shape[0])
        lam = check_positive_real("damping", damping, allow_zero=True)
        reference = self.reference
        x, self.last_info = kernel_cg(
            self.J,
            g,
            lam,
            reference.precondition(lam),
            float(reference.eigenvalues[0]) + lam,
            reference.tol,
            reference.maxiter,
            reference.progress,
        )
        return x

    def direction(self, g, damping) -> np.ndarray:
        r""":math:`J_t^\top(K_t + \lambda I)^{-1}g`.

        Parameters
        ----------
        g : array_like, shape (n,)
        damping : float
            :math:`\lambda \ge 0`.

        Returns
        -------
        ndarray, shape (p,)

        Raises
        ------
        KrylovConvergenceError
            If CG misses its tolerance within the reference's ``maxiter``.

        Examples
        --------
        >>> import numpy as np
        >>> import autograd.numpy as anp
        >>> from manifolds import AutogradOutputMap
        >>> from manifolds.linalg import JacobianOperator, ReferenceKernel
        >>> from manifolds.linalg import kernel_factorization
        >>> F = AutogradOutputMap(  # n = 3 outputs, p = 6 parameters
        ...     lambda w: anp.tanh(X[:3] @ w.reshape(2, 3)).sum(axis=1), n_params=6)
        >>> theta_r = np.linspace(-0.5, 0.6, 6)
        >>> reference = ReferenceKernel(JacobianOperator(F, theta_r))
        >>> theta = theta_r - 0.01
        >>> here = reference.at(JacobianOperator(F, theta))
        >>> dense = kernel_factorization(F.jacobian(theta))
        >>> g = np.arange(3.0)
        >>> step = here.direction(g, 0.5)
        >>> bool(np.allclose(step, dense.direction(g, 0.5), rtol=1e-10))
        True
        """
        return self.J.rmatvec(self.solve(g, damping))

    def output_velocity(self, g, damping) -> np.ndarray:
        r""":math:`K_t(K_t + \lambda I)^{-1}g`.

        Parameters
        ----------
        g : array_like, shape (n,)
        damping : float
            :math:`\lambda \ge 0`.

        Returns
        -------
        ndarray, shape (n,)

        Raises
        ------
        KrylovConvergenceError
            If CG misses its tolerance.

        Examples
        --------
        >>> import numpy as np
        >>> import autograd.numpy as anp
        >>> from manifolds import AutogradOutputMap
        >>> from manifolds.linalg import JacobianOperator, ReferenceKernel
        >>> F = AutogradOutputMap(  # n = 3 outputs, p = 6 parameters
        ...     lambda w: anp.tanh(X[:3] @ w.reshape(2, 3)).sum(axis=1), n_params=6)
        >>> theta_r = np.linspace(-0.5, 0.6, 6)
        >>> reference = ReferenceKernel(JacobianOperator(F, theta_r))
        >>> here = reference.at(JacobianOperator(F, theta_r))
        >>> g = np.arange(3.0)
        >>> velocity = here.output_velocity(g, 0.5)
        >>> bool(np.allclose(velocity + 0.5 * here.solve(g, 0.5), g))
        True
        """
        return self.J.matvec(self.J.rmatvec(self.solve(g, damping)))
