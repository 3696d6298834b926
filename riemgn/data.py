r"""Data sets for the experiments: controlled teacher-student problems and a real one.

- :func:`riemgn.data.conditioned_inputs` draws inputs
  :math:`X = U \diag(s) V^\T` whose singular values fall geometrically, so
  that :math:`\cond(X)` is exactly ``cond``.
- :func:`riemgn.data.teacher_student` puts a teacher :math:`\theta^*` near
  the student's initialization :math:`\theta_0` and labels the inputs with
  it, plus optional Gaussian noise: the optimal in-class predictor is then
  (close to) known and the normal residual is small.
- :func:`riemgn.data.near_duplicate_inputs` makes the neural tangent kernel
  ill-conditioned in a controlled way, for overparameterized experiments.
- :func:`riemgn.data.diabetes` loads scikit-learn's bundled diabetes
  regression set (442 x 10), standardized; :func:`riemgn.data.breast_cancer`
  its breast cancer classification set (569 x 30, labels :math:`\pm 1`) and
  :func:`riemgn.data.digits` its handwritten digits 3 and 8 (357 x 54,
  labels :math:`\pm 1`). They need the ``data`` extra (scikit-learn).

These are the data of THEORY §4 ("Guidance for the experiments").
Everything is seeded through a ``numpy.random.Generator`` argument, never
the global state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from manifolds.linalg import orthonormal_basis
from manifolds.validation import (
    NonFiniteError,
    all_finite,
    as_finite_array,
    check_generator,
    check_positive_int,
    check_positive_real,
)
from riemgn.networks import TwoLayerNetwork
from riemgn.networks.two_layer import TwoLayerOutputMap

__all__ = [
    "MissingExtraError",
    "TeacherStudent",
    "breast_cancer",
    "conditioned_inputs",
    "diabetes",
    "digits",
    "near_duplicate_inputs",
    "teacher_student",
]


class MissingExtraError(ImportError):
    """An optional dependency is missing; the message names the extra to install.

    It is an ``ImportError``, so code that already guards optional imports
    catches it. :func:`riemgn.data.diabetes` raises it when scikit-learn is
    not installed.

    Examples
    --------
    >>> try:
    ...     raise MissingExtraError("install the 'data' extra: pip install 'riemgn[data]'")
    ... except ImportError as error:
    ...     print(type(error).__name__, "-", error)
    MissingExtraError - install the 'data' extra: pip install 'riemgn[data]'
    """


def conditioned_inputs(
    n: int, d: int, cond: float, rng: np.random.Generator
) -> np.ndarray:
    r"""Inputs :math:`X = U \operatorname{diag}(s) V^T` with :math:`\operatorname{cond}(X)` = ``cond``.

    .. math::

        X = U \diag(s) V^\T, \qquad
        s_k = \sqrt{n}\; \kappa^{-k/(d-1)}, \quad k = 0, \dots, d - 1,

    where

    - :math:`U \in \R^{n \times d}` has orthonormal columns and
      :math:`V \in \R^{d \times d}` is orthogonal, both from the QR
      factorization of a standard Gaussian matrix (Haar-distributed);
    - :math:`\kappa` is ``cond``, so that :math:`s_0/s_{d-1} = \kappa =
      \cond(X)`.

    With ``cond = 1`` the entries of :math:`X` have unit mean square
    (:math:`\|X\|_F^2 = nd`), as for standard Gaussian inputs. With
    :math:`d = 1` there is a single singular value :math:`\sqrt n`, and
    ``cond`` has no effect. The Gram matrix of a network on these inputs has
    :math:`\cond(G_0)` growing roughly like :math:`\kappa^2`.

    Parameters
    ----------
    n, d : int
        Samples and input dimension, ``n >= d >= 1``.
    cond : float
        The condition number :math:`\kappa` of ``X``, finite and ``>= 1``.
    rng : numpy.random.Generator
        The only source of randomness.

    Returns
    -------
    ndarray, shape (n, d)
        The inputs, one per row.

    Raises
    ------
    ValueError
        If ``d > n``, ``n`` or ``d`` is < 1, or ``cond`` is not finite or
        ``< 1``.
    TypeError
        If ``n`` or ``d`` is not an integer, ``cond`` is not a real number,
        or ``rng`` is not a ``numpy.random.Generator``.

    Examples
    --------
    >>> import numpy as np
    >>> X = conditioned_inputs(20, 3, 1e4, np.random.default_rng(0))
    >>> from manifolds.linalg import singular_values
    >>> s = singular_values(X)
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
    U = orthonormal_basis(rng.standard_normal((n, d)))
    V = orthonormal_basis(rng.standard_normal((d, d)))
    s = np.sqrt(n) * np.geomspace(1.0, 1.0 / cond, d)
    return (U * s) @ V.T


def near_duplicate_inputs(
    n: int, d: int, eta: float, rng: np.random.Generator
) -> np.ndarray:
    r"""Standard normal inputs whose last row is within ``eta`` of the first.

    .. math::

        x_j \sim N(0, I_d) \quad (j < n), \qquad
        x_n = x_1 + \eta\, \frac{z}{\|z\|_2}, \quad z \sim N(0, I_d),

    where :math:`\eta` is ``eta``, so that :math:`\|x_n - x_1\|_2 = \eta`.

    Two nearly equal samples make two nearly equal rows of the Jacobian, so
    :math:`\lambda_{\min}(K)` is of order :math:`\eta^2`, while the rest of
    the spectrum barely changes. This is how the overparameterized
    experiments control :math:`\lambda_{\min}(K_0)`.

    Parameters
    ----------
    n : int
        The number of samples, ``>= 2``.
    d : int
        The input dimension, ``>= 1``.
    eta : float
        The distance :math:`\eta > 0` between the first and the last sample.
    rng : numpy.random.Generator
        The only source of randomness.

    Returns
    -------
    ndarray, shape (n, d)
        The inputs, one per row.

    Raises
    ------
    ValueError
        If ``n < 2``, ``d < 1``, or ``eta`` is not finite and ``> 0``.
    TypeError
        If ``n`` or ``d`` is not an integer, ``eta`` is not a real number, or
        ``rng`` is not a ``numpy.random.Generator``.

    Examples
    --------
    Halving :math:`\eta` divides :math:`\lambda_{\min}(K)` by about 4:

    >>> import numpy as np
    >>> from riemgn.networks import TwoLayerNetwork
    >>> network = TwoLayerNetwork(3, 8)  # p = 24 > n = 6
    >>> params = network.init_params(np.random.default_rng(0))
    >>> def lambda_min(eta):
    ...     X = near_duplicate_inputs(6, 3, eta, np.random.default_rng(1))
    ...     K = network.output_map(X).neural_tangent_kernel(params)
    ...     return np.linalg.eigvalsh(K)[0]
    >>> X = near_duplicate_inputs(6, 3, 1e-3, np.random.default_rng(1))
    >>> X.shape, round(float(np.linalg.norm(X[-1] - X[0])), 12)
    ((6, 3), 0.001)
    >>> round(float(lambda_min(1e-3) / lambda_min(5e-4)), 1)
    4.0
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
    r"""A teacher-student regression problem (see :func:`riemgn.data.teacher_student`).

    Attributes
    ----------
    X : ndarray, shape (n, d)
        Inputs.
    y : ndarray, shape (n,)
        Targets :math:`F(\theta^*) + \text{noise}`.
    network : TwoLayerNetwork
        The student (and teacher) architecture, a
        :class:`riemgn.networks.TwoLayerNetwork` whose output weights were
        drawn with ``params0``.
    params0 : ndarray, shape (p,)
        The student's initialization :math:`\theta_0`.
    teacher_params : ndarray, shape (p,)
        The teacher :math:`\theta^*`, at distance ``distance`` from
        ``params0``.
    clean_targets : ndarray, shape (n,)
        :math:`F(\theta^*)`, the noise-free labels.
    noise : float
        The standard deviation of the label noise.

    Examples
    --------
    >>> import numpy as np
    >>> from riemgn.losses import SquaredLoss
    >>> problem = teacher_student(30, 3, 2, noise=0.1, rng=np.random.default_rng(0))
    >>> F = problem.output_map  # the student's F on problem.X
    >>> F.n_outputs, F.n_params
    (30, 6)
    >>> loss = SquaredLoss(problem.y)
    >>> bool(loss.value(problem.clean_targets) < loss.value(F.value(problem.params0)))
    True
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

    .. math::

        \theta^* = \theta_0 + \rho\, v, \qquad
        y = F(\theta^*) + \varsigma\, \epsilon,

    where :math:`F` is the student's output map on :math:`X`,
    :math:`\theta_0` its initialization, :math:`v` uniform on the unit
    sphere of :math:`\R^p`, :math:`\rho` is ``distance``,
    :math:`\varsigma` is ``noise`` and :math:`\epsilon \sim N(0, I_n)`.
    In order, from ``rng``:

    1. ``X = conditioned_inputs(n, d, cond, rng)`` (unless ``X`` is given);
    2. ``params0 = network.init_params(rng, init)``;
    3. ``teacher_params = params0 + distance * v``;
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
    alpha : float, default 1.0
        The network's scaling factor :math:`\alpha > 0`.
    activation : str, default "tanh"
        The network's activation, one of
        :data:`riemgn.networks.ACTIVATIONS`.
    init : {"standard", "symmetric", "centered"}, default "standard"
        The initialization scheme of
        :meth:`riemgn.networks.TwoLayerNetwork.init_params`.
    distance : float, default 0.5
        :math:`\|\theta^* - \theta_0\|_2 \ge 0`.
    X : array_like, shape (n, d), optional
        Use these inputs (for example :func:`riemgn.data.diabetes` data)
        instead of drawing them; ``cond`` must then be left at 1.

    Returns
    -------
    TeacherStudent
        The inputs, targets, network, both parameter vectors and the clean
        targets (a :class:`riemgn.data.TeacherStudent`).

    Raises
    ------
    ValueError
        If ``X`` does not have shape ``(n, d)`` or is not a finite numeric
        array, both ``X`` and ``cond`` are given, ``noise`` or ``distance``
        is negative or not finite or so large that the targets or the
        teacher overflow float64, or an argument is out of range (as in
        :func:`riemgn.data.conditioned_inputs` and
        :class:`riemgn.networks.TwoLayerNetwork`).
    TypeError
        If ``rng`` is not a ``numpy.random.Generator`` or an argument has
        the wrong type.

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
        X = np.array(as_finite_array("X", X), dtype=float)
        if X.shape != (n, d):
            raise ValueError(f"X must have shape ({n}, {d}), got {X.shape}")
        if cond != 1.0:
            raise ValueError(f"pass either X or cond, not both (cond = {cond!r})")
    network = TwoLayerNetwork(d, width, alpha=alpha, activation=activation)
    params0 = network.init_params(rng, init)
    direction = rng.standard_normal(params0.size)
    with np.errstate(over="ignore", invalid="ignore"):
        teacher_params = params0 + distance * direction / np.linalg.norm(direction)
    if not all_finite(teacher_params):
        raise NonFiniteError(
            f"`distance` = {distance!r} puts the teacher's parameters beyond the "
            "largest float; choose a smaller `distance`"
        )
    output_map = network.output_map(X)
    clean = output_map.value(teacher_params)
    with np.errstate(over="ignore", invalid="ignore"):
        y = clean + noise * rng.standard_normal(n)
    if not all_finite(y):
        raise NonFiniteError(
            f"`noise` = {noise!r} makes the targets overflow float64 (they hold "
            f"{int(np.sum(~np.isfinite(y)))} inf value(s)); choose a smaller `noise`"
        )
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
    r"""scikit-learn's bundled diabetes regression set, standardized.

    442 patients, 10 baseline features (age, sex, BMI, blood pressure and six
    serum measurements); the target is disease progression after one year.
    The data ship inside scikit-learn, so no download happens. Each feature
    column and the target are centred and scaled to unit standard deviation:

    .. math::

        X_{jk} \leftarrow \frac{X_{jk} - \bar X_k}{\operatorname{sd}(X_{:,k})},
        \qquad
        y_j \leftarrow \frac{y_j - \bar y}{\operatorname{sd}(y)},

    where :math:`\bar X_k, \bar y` are the means and
    :math:`\operatorname{sd}` the population standard deviation
    (``numpy.std`` with ``ddof=0``).

    Returns
    -------
    X : ndarray, shape (442, 10)
        The standardized features.
    y : ndarray, shape (442,)
        The standardized target.

    Raises
    ------
    MissingExtraError
        If scikit-learn is not installed; the message names the extra.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = diabetes()
    >>> X.shape, y.shape
    ((442, 10), (442,))
    >>> bool(np.allclose(X.mean(axis=0), 0.0) and np.allclose(X.std(axis=0), 1.0))
    True
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


def _sklearn_datasets(name: str):
    """``sklearn.datasets``, or a :class:`MissingExtraError` naming the data set."""
    try:
        from sklearn import datasets
    except ImportError as error:
        raise MissingExtraError(
            f"the {name} data set needs scikit-learn, which is not installed; "
            "install the 'data' extra: pip install 'riemgn[data]'"
        ) from error
    return datasets


def _standardized_columns(X: np.ndarray) -> np.ndarray:
    """``X`` with each column centred and divided by its population standard deviation."""
    X = np.asarray(X, dtype=float)
    return (X - X.mean(axis=0)) / X.std(axis=0)


def breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    r"""scikit-learn's bundled Wisconsin breast cancer set: standardized features, labels :math:`\pm 1`.

    569 tumours, 30 real features (mean, standard error and worst value of
    ten measurements of the cell nuclei in a digitized image). The label is
    the diagnosis, as :math:`\pm 1` for :class:`riemgn.losses.LogisticLoss`
    (whose labels are :math:`y_i \in \{-1, +1\}`):

    .. math::

        y_j = +1 \ \text{(benign, 357 samples)}, \qquad
        y_j = -1 \ \text{(malignant, 212 samples)},

    and each feature column is centred and scaled to unit population standard
    deviation, as in :func:`riemgn.data.diabetes`. The data ship inside
    scikit-learn: no download. Deterministic: the same arrays at every call.

    Returns
    -------
    X : ndarray, shape (569, 30)
        The standardized features.
    y : ndarray, shape (569,)
        The labels, ``+1.0`` (benign) or ``-1.0`` (malignant).

    Raises
    ------
    MissingExtraError
        If scikit-learn is not installed; the message names the extra.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = breast_cancer()
    >>> X.shape, y.shape, sorted(set(y.tolist()))
    ((569, 30), (569,), [-1.0, 1.0])
    >>> int((y > 0).sum()), bool(np.allclose(X.std(axis=0), 1.0))
    (357, True)
    """
    datasets = _sklearn_datasets("breast cancer")
    X, target = datasets.load_breast_cancer(return_X_y=True)
    y = np.where(np.asarray(target) == 1, 1.0, -1.0)
    return _standardized_columns(X), y


def digits() -> tuple[np.ndarray, np.ndarray]:
    r"""scikit-learn's bundled handwritten digits, as the binary task 3 against 8.

    The images of the digits 3 and 8 (8 x 8 pixels, grey levels 0-16) of
    the UCI optical recognition data set: 357 of scikit-learn's 1797 images.
    The label is the digit, as :math:`\pm 1` for
    :class:`riemgn.losses.LogisticLoss`:

    .. math::

        y_j = +1 \ \text{(a 3, 183 images)}, \qquad
        y_j = -1 \ \text{(an 8, 174 images)}.

    The ten pixels that are blank in every one of these images carry no
    information and cannot be standardized, so they are dropped; the other
    :math:`d = 54` columns are centred, scaled to unit population standard
    deviation and divided by :math:`\sqrt d`, so that an image has unit mean
    squared norm (without that factor tanh saturates at a standard
    initialization :math:`w \sim N(0, I_d)`):

    .. math::

        X_{jk} = \frac{P_{jk} - \bar P_k}{\sqrt d\,\operatorname{sd}(P_{:,k})},

    where :math:`P_{jk}` is pixel :math:`k` of image :math:`j`. Deterministic,
    no download.

    Why this task: the networks of :mod:`riemgn.networks` have one output,
    so the ten-class problem does not fit them. 3 against 8 is a binary task
    on real images whose pixel matrix has full column rank (:math:`d = 54`,
    condition number about 15; for 0 against 1 or 1 against 7 the pixel
    columns are linearly dependent, so :math:`J` is rank deficient) and on
    which the Gauss-Newton flow of a one-neuron network stays at full rank
    up to :math:`t = 1`. Measured for C1 on all 1797 images (the regression
    on the digit value, digits :math:`\ge 5` against :math:`< 5`, even
    against odd): the flow of a two-neuron network loses rank, blows up or
    stiffens (minutes to reach :math:`t = 1`) in every draw; with one neuron
    it reaches :math:`t = 1`, but moves so fast that C1's steps are not in
    the schemes' asymptotic range.

    Returns
    -------
    X : ndarray, shape (357, 54)
        The standardized non-blank pixels, divided by ``sqrt(54)``.
    y : ndarray, shape (357,)
        The labels, ``+1.0`` (a 3) or ``-1.0`` (an 8).

    Raises
    ------
    MissingExtraError
        If scikit-learn is not installed; the message names the extra.

    Examples
    --------
    >>> import numpy as np
    >>> X, y = digits()
    >>> X.shape, y.shape, sorted(set(y.tolist()))
    ((357, 54), (357,), [-1.0, 1.0])
    >>> int((y > 0).sum())  # the threes
    183
    >>> round(float(np.mean(np.sum(X**2, axis=1))), 12)  # unit mean squared norm
    1.0
    >>> bool(np.array_equal(digits()[0], X))  # deterministic
    True
    """
    datasets = _sklearn_datasets("digits")
    X, target = datasets.load_digits(return_X_y=True)
    target = np.asarray(target)
    keep = (target == 3) | (target == 8)
    X = np.asarray(X, dtype=float)[keep]
    X = X[:, X.std(axis=0) > 0]
    y = np.where(target[keep] == 3, 1.0, -1.0)
    return _standardized_columns(X) / np.sqrt(X.shape[1]), y
