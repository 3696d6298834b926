"""Data sets for the experiments: controlled teacher-student problems and a real one.

- :func:`conditioned_inputs` draws inputs ``X = U diag(s) V^T`` whose singular
  values fall geometrically, so that ``cond(X)`` is exactly ``cond``.
- :func:`teacher_student` puts a teacher ``theta*`` near the student's
  initialization ``theta0`` and labels the inputs with it, plus optional
  Gaussian noise: the optimal in-class predictor is then (close to) known and
  the normal residual is small.
- :func:`near_duplicate_inputs` makes the neural tangent kernel
  ill-conditioned in a controlled way, for overparameterized experiments.
- :func:`diabetes` loads scikit-learn's bundled diabetes regression set
  (442 x 10), standardized. It needs the ``data`` extra (scikit-learn).

Everything is seeded through a :class:`numpy.random.Generator` argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from manifolds._validation import (
    check_generator,
    check_positive_int,
    check_positive_real,
)
from riemgn.networks import TwoLayerNetwork
from riemgn.networks.two_layer import TwoLayerOutputMap

__all__ = [
    "MissingExtraError",
    "TeacherStudent",
    "conditioned_inputs",
    "diabetes",
    "near_duplicate_inputs",
    "teacher_student",
]


class MissingExtraError(ImportError):
    """An optional dependency is missing; the message names the extra to install."""


def conditioned_inputs(
    n: int, d: int, cond: float, rng: np.random.Generator
) -> np.ndarray:
    r"""Inputs :math:`X = U \operatorname{diag}(s) V^T` with :math:`\operatorname{cond}(X)` = ``cond``.

    ``U`` (``n x d``, orthonormal columns) and ``V`` (``d x d``, orthogonal)
    are Haar-random; :math:`s_k = \sqrt{n}\, \mathrm{cond}^{-k/(d-1)}`, so the
    rows have unit mean square norm when ``cond = 1``.

    Parameters
    ----------
    n, d : int
        Samples and input dimension, ``n >= d >= 1``.
    cond : float
        The condition number of ``X``, ``>= 1``.
    rng : numpy.random.Generator

    Returns
    -------
    numpy.ndarray, shape (n, d)

    Examples
    --------
    >>> import numpy as np
    >>> X = conditioned_inputs(20, 3, 1e4, np.random.default_rng(0))
    >>> s = np.linalg.svd(X, compute_uv=False)
    >>> round(float(s[0] / s[-1]))
    10000
    """
    n = check_positive_int("n", n)
    d = check_positive_int("d", d)
    if d > n:
        raise ValueError(f"conditioned_inputs needs d <= n, got d = {d} > n = {n}")
    cond = check_positive_real("cond", cond)
    if cond < 1:
        raise ValueError(f"cond must be >= 1, got {cond!r}")
    rng = check_generator(rng)
    U, _ = np.linalg.qr(rng.standard_normal((n, d)))
    V, _ = np.linalg.qr(rng.standard_normal((d, d)))
    s = np.sqrt(n) * np.geomspace(1.0, 1.0 / cond, d)
    return (U * s) @ V.T


def near_duplicate_inputs(
    n: int, d: int, eta: float, rng: np.random.Generator
) -> np.ndarray:
    r"""Standard normal inputs whose last row is within ``eta`` of the first.

    ``x_n = x_1 + eta z`` with a random unit vector ``z``: two nearly equal
    samples make :math:`\lambda_{\min}(K)` of order :math:`\eta^2`, while the
    rest of the spectrum is untouched. This is how the overparameterized
    experiments control :math:`\lambda_{\min}(K_0)`.
    """
    n = check_positive_int("n", n)
    d = check_positive_int("d", d)
    if n < 2:
        raise ValueError(f"near_duplicate_inputs needs n >= 2, got n = {n}")
    eta = check_positive_real("eta", eta)
    rng = check_generator(rng)
    X = rng.standard_normal((n, d))
    z = rng.standard_normal(d)
    X[-1] = X[0] + eta * z / np.linalg.norm(z)
    return X


@dataclass(frozen=True)
class TeacherStudent:
    """A teacher-student regression problem (see :func:`teacher_student`).

    Attributes
    ----------
    X : numpy.ndarray, shape (n, d)
        Inputs.
    y : numpy.ndarray, shape (n,)
        Targets ``F(teacher_params) + noise``.
    network : TwoLayerNetwork
        The student (and teacher) architecture.
    params0 : numpy.ndarray, shape (p,)
        The student's initialization.
    teacher_params : numpy.ndarray, shape (p,)
        The teacher, at distance ``distance`` from ``params0``.
    clean_targets : numpy.ndarray, shape (n,)
        ``F(teacher_params)``, the noise-free labels.
    noise : float
        The standard deviation of the label noise.
    """

    X: np.ndarray
    y: np.ndarray
    network: TwoLayerNetwork
    params0: np.ndarray
    teacher_params: np.ndarray
    clean_targets: np.ndarray
    noise: float

    @property
    def output_map(self) -> TwoLayerOutputMap:
        """The student's output map ``F`` on ``X``."""
        return self.network.output_map(self.X)


def teacher_student(
    n: int,
    d: int,
    width: int,
    *,
    cond: float = 1.0,
    noise: float = 0.0,
    rng: np.random.Generator,
    alpha: float = 1.0,
    activation: str = "tanh",
    init: str = "standard",
    distance: float = 0.5,
    X: np.ndarray | None = None,
) -> TeacherStudent:
    r"""A two-layer student, a teacher near its initialization, and their data.

    1. ``X = conditioned_inputs(n, d, cond, rng)`` (unless ``X`` is given);
    2. ``params0 = network.init_params(rng, init)``;
    3. ``teacher_params = params0 + distance * v`` with ``v`` uniform on the
       unit sphere;
    4. ``y = F(teacher_params) + noise * N(0, I_n)``.

    With ``noise = 0`` the problem is realizable: the optimal in-class
    predictor is ``F(teacher_params)`` and the optimal risk is 0. With noise,
    the optimal predictor is the projection of ``y`` on the output manifold,
    and the normal residual is of size ``noise * sqrt(n - p)``.

    Parameters
    ----------
    n, d, width : int
        Samples, input dimension and hidden neurons (``p = width * d``).
    cond : float, default 1.0
        ``cond(X)``; ``cond(G0)`` grows roughly like its square.
    noise : float, default 0.0
        Standard deviation of the Gaussian label noise, ``>= 0``.
    rng : numpy.random.Generator
        The only source of randomness.
    alpha, activation, init
        The network's scaling, activation and initialization scheme.
    distance : float, default 0.5
        ``|teacher_params - params0|``.
    X : array_like, shape (n, d), optional
        Use these inputs (for example :func:`diabetes` data) instead of
        drawing them; ``cond`` must then be left at 1.

    Returns
    -------
    TeacherStudent

    Examples
    --------
    >>> import numpy as np
    >>> problem = teacher_student(30, 3, 2, cond=10.0, rng=np.random.default_rng(0))
    >>> problem.y.shape, problem.params0.shape
    ((30,), (6,))
    >>> bool(np.allclose(problem.y, problem.output_map.value(problem.teacher_params)))
    True
    """
    rng = check_generator(rng)
    noise = check_positive_real("noise", noise, allow_zero=True)
    distance = check_positive_real("distance", distance, allow_zero=True)
    if X is None:
        X = conditioned_inputs(n, d, cond, rng)
    else:
        X = np.array(X, dtype=float)
        if X.shape != (n, d):
            raise ValueError(f"X must have shape ({n}, {d}), got {X.shape}")
        if cond != 1.0:
            raise ValueError(f"pass either X or cond, not both (cond = {cond!r})")
    network = TwoLayerNetwork(d, width, alpha=alpha, activation=activation)
    params0 = network.init_params(rng, init)
    direction = rng.standard_normal(params0.size)
    teacher_params = params0 + distance * direction / np.linalg.norm(direction)
    output_map = network.output_map(X)
    clean = output_map.value(teacher_params)
    y = clean + noise * rng.standard_normal(n)
    return TeacherStudent(
        X=X,
        y=y,
        network=network,
        params0=params0,
        teacher_params=teacher_params,
        clean_targets=clean,
        noise=noise,
    )


def diabetes() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled diabetes regression set, standardized.

    442 patients, 10 baseline features (age, sex, BMI, blood pressure and six
    serum measurements); the target is disease progression after one year.
    The data ship inside scikit-learn, so no download happens. Each feature
    column and the target are centred and scaled to unit standard deviation.

    Returns
    -------
    X : numpy.ndarray, shape (442, 10)
    y : numpy.ndarray, shape (442,)

    Raises
    ------
    MissingExtraError
        If scikit-learn is not installed; the message names the extra.
    """
    try:
        from sklearn.datasets import load_diabetes
    except ImportError as error:
        raise MissingExtraError(
            "the diabetes data set needs scikit-learn, which is not installed; "
            "install the 'data' extra: pip install 'riemgn[data]'"
        ) from error
    X, y = load_diabetes(return_X_y=True, scaled=False)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = (y - y.mean()) / y.std()
    return X, y
