"""Helpers shared by the claim modules: seeds, configurations, figures and a few measurements."""

from __future__ import annotations

import math
import zlib

import numpy as np

from manifolds.linalg import singular_values
from riemgn.verify._style import new_figure  # noqa: F401  (the claims' import)

__all__ = [
    "CONDITION_TOLERANCE",
    "DATA",
    "REAL_DATA",
    "MAX_DRAWS",
    "data_set_description",
    "data_support",
    "data_words",
    "farthest",
    "gram_condition",
    "gram_conditioned_problem",
    "largest",
    "load_data",
    "log_slope",
    "new_figure",
    "run_rng",
    "run_seed",
    "typed_config",
]

#: C2 and C6: cond(G0) is within this factor of each target (see
#: :func:`gram_conditioned_problem`); a draw that cannot reach a target is
#: replaced, at most MAX_DRAWS times.
CONDITION_TOLERANCE = 1.2
MAX_DRAWS = 10

#: The real data sets of ``--data`` (loaders in :mod:`riemgn.data`), and all
#: the ``--data`` choices.
REAL_DATA = ("diabetes", "breast_cancer", "digits")
DATA = ("synthetic", *REAL_DATA)

#: The words a report uses for each real data set's features and target.
_DATA_WORDS = {
    "diabetes": ("diabetes", "standardized target"),
    "breast_cancer": ("breast cancer", "+-1 diagnosis labels"),
    "digits": ("digits", "+-1 labels (3 against 8)"),
}


def load_data(data: str):
    """The features and target of a real ``--data`` choice: ``(X, y)``.

    Examples
    --------
    >>> X, y = load_data("breast_cancer")
    >>> X.shape, y.shape
    ((569, 30), (569,))
    """
    from riemgn.data import breast_cancer, diabetes, digits

    loaders = {"diabetes": diabetes, "breast_cancer": breast_cancer, "digits": digits}
    if data not in loaders:
        raise ValueError(f"data must be one of {REAL_DATA}, got {data!r}")
    return loaders[data]()


def run_seed(seed: int, claim_id: str, *keys: int) -> tuple[int, ...]:
    """The entropy of one run: the user's seed, the claim and the run's indices.

    A plain tuple of ints (picklable); :func:`run_rng` turns it into a
    generator. Different claims and runs get independent streams, and a run's
    stream does not depend on which other runs or claims are executed.

    Examples
    --------
    >>> run_seed(0, "C1", 2)
    (0, 3411217923, 2)
    """
    return (int(seed), zlib.crc32(claim_id.encode()), *(int(k) for k in keys))


def run_rng(entropy: tuple[int, ...]) -> np.random.Generator:
    """The generator of a run, from :func:`run_seed`'s entropy."""
    return np.random.default_rng(np.random.SeedSequence(list(entropy)))


def typed_config(config_type, config):
    """``config`` as a ``config_type`` (a claim's frozen ``Config`` dataclass).

    The runner passes a claim's configuration as the preset's dict of plain
    values (what ``report.json`` records), or already typed; unknown keys
    raise ``TypeError``.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Config:
    ...     n: int
    >>> typed_config(Config, {"n": 3})
    Config(n=3)
    >>> typed_config(Config, Config(4))
    Config(n=4)
    """
    return config if isinstance(config, config_type) else config_type(**config)


def gram_condition(output_map, params) -> float:
    """``cond(G) = cond(J)^2`` at ``params``, from the singular values of ``J``."""
    s = singular_values(output_map.jacobian(params))
    return float((s[0] / s[-1]) ** 2) if s[-1] > 0 else float("inf")


def log_slope(x, y) -> float:
    """The least-squares slope of ``log y`` against ``log x``.

    NaN if any value is not finite and positive (a missing measurement is
    never dropped silently: callers select the runs to fit first) or if
    fewer than two distinct ``x`` are given.

    Examples
    --------
    >>> round(log_slope([1.0, 10.0, 100.0], [3.0, 0.3, 0.03]), 12)
    -1.0
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.size < 2:
        return math.nan
    if not (np.all(np.isfinite(x) & (x > 0)) and np.all(np.isfinite(y) & (y > 0))):
        return math.nan
    if np.ptp(x) == 0:
        return math.nan
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def largest(values) -> float:
    """The largest value; NaN if any is NaN or none is given (unlike ``max``).

    Examples
    --------
    >>> largest([1.0, float("nan"), 3.0])
    nan
    """
    values = np.asarray(values, float)
    return float(np.max(values)) if values.size else math.nan


def farthest(values, target: float) -> float:
    """The value farthest from ``target``; NaN if any is NaN or none is given.

    Examples
    --------
    >>> farthest([0.9, 1.05, 1.2], 1.0)
    1.2
    """
    values = np.asarray(values, float)
    if values.size == 0 or not np.all(np.isfinite(values)):
        return math.nan
    return float(values[np.argmax(np.abs(values - target))])


def gram_conditioned_problem(
    target: float,
    n: int,
    d: int,
    width: int,
    *,
    entropy: tuple[int, ...],
    tolerance: float = 1.5,
    max_draws: int = 1,
    base_inputs: np.ndarray | None = None,
    input_scale: float = 1.0,
    **options,
):
    """A teacher-student problem whose ``cond(G0)`` is within ``tolerance`` of ``target``.

    Bisects on a log scale the input conditioning ``c``, with everything else
    (the singular vectors of X, the initialization, the teacher, the noise)
    drawn from the same stream at every attempt:

    - synthetic data: ``X = input_scale * conditioned_inputs(n, d, c, rng)``
      (``input_scale = 1/sqrt(d)`` gives rows of unit mean squared norm, so
      that ``<w, x>`` stays of order 1 at the standard initialization
      ``w ~ N(0, I_d)`` and tanh does not saturate);
    - ``base_inputs`` (for example the diabetes features): their columns are
      scaled by ``geomspace(1, 1/c, d)``.

    A draw's ``cond(G0)`` at well-conditioned inputs is occasionally large
    (two neurons nearly aligned), so a low target can be out of its reach.
    Draw ``k`` uses the stream ``run_rng((*entropy, k))``, and up to
    ``max_draws`` draws are tried.

    ``options`` go to :func:`riemgn.data.teacher_student` (``noise``,
    ``distance``, ``alpha``, ``activation``, ``init``).

    Returns
    -------
    (TeacherStudent, float, int)
        The problem, its measured ``cond(G0)`` and the number of draws used.

    Raises
    ------
    RuntimeError
        If no draw and no input conditioning in ``[1, 1e8]`` gives the target.
    """
    from riemgn.data import conditioned_inputs, teacher_student

    for k in range(max_draws):
        low, high = 0.0, 8.0  # log10 of the input conditioning
        for attempt in range(60):
            middle = 0.0 if attempt == 0 else 0.5 * (low + high)
            rng = run_rng((*entropy, k))
            if base_inputs is None:
                X = input_scale * conditioned_inputs(n, d, 10.0**middle, rng)
            else:
                X = np.asarray(base_inputs, dtype=float) * np.geomspace(
                    1.0, 10.0**-middle, d
                )
            problem = teacher_student(n, d, width, rng=rng, X=X, **options)
            condition = gram_condition(problem.output_map, problem.params0)
            if abs(np.log(condition / target)) <= np.log(tolerance):
                return problem, condition, k + 1
            if attempt == 0 and condition > target:
                break  # too ill-conditioned already at c = 1: the next draw
            if condition < target:
                low = middle
            else:
                high = middle
    raise RuntimeError(
        f"none of {max_draws} draw(s) reaches cond(G0) = {target:g} within a "
        f"factor {tolerance:g} for an input conditioning in [1, 1e8] "
        f"(n = {n}, d = {d}, width = {width}, entropy = {entropy})"
    )


def problem_sizes(config) -> list[dict]:
    """The synthetic problems' sizes in a claim's ``config``, and the solver ``"auto"`` picks.

    One entry per problem kind a configuration names: ``n`` and ``d`` with
    the network's ``width`` (:math:`p = m d`), and C1's ``trajectory_n``,
    ``trajectory_d``. ``solver`` is :func:`manifolds.linalg.resolve_solver`
    of ``"auto"`` at that size, the choice every flow, solver and manifold
    the claims build makes (they leave ``solver`` at ``"auto"``). On real
    data (``n`` is None) there are no entries.

    Examples
    --------
    >>> problem_sizes({"n": 4000, "d": 10, "width": 100})
    [{'problem': 'flows', 'n': 4000, 'p': 1000, 'solver': 'dense'}]
    >>> problem_sizes({"n": 4000, "d": 20, "width": 2000})[0]["solver"]
    'krylov'
    >>> problem_sizes({"n": None, "d": None, "width": 2})
    []
    """
    from manifolds.linalg import resolve_solver

    sizes = []
    width = config.get("width")
    for kind, n_key, d_key in (
        ("flows", "n", "d"),
        ("trajectories", "trajectory_n", "trajectory_d"),
    ):
        n, d = config.get(n_key), config.get(d_key)
        if n is None or d is None or width is None:
            continue
        p = int(width) * int(d)
        sizes.append(
            {
                "problem": kind,
                "n": int(n),
                "p": p,
                "solver": resolve_solver("auto", n, p),
            }
        )
    if len(sizes) == 2:
        sizes[0]["problem"] = "pointwise"
    return sizes


def data_set_description(data: str) -> dict:
    """What ``--data`` names: its source, size and preprocessing, for the report.

    Written to ``report.json`` as ``data_set``, and shown at the top of
    ``report.md``. How each claim then uses the data (which targets, which
    columns rescaled) is a note of that claim; which claims support the data
    and why the others do not is in ``claims`` (see
    :func:`data_support`).

    Parameters
    ----------
    data : {"synthetic", "diabetes", "breast_cancer", "digits"}
        The ``--data`` choice.

    Returns
    -------
    dict
        ``name``, ``source``, ``preprocessing`` (a list of sentences) and
        ``claims``; for a real data set also ``n_samples`` and
        ``n_features``, read from the arrays the claims use, and
        ``features`` and ``target``.

    Examples
    --------
    >>> description = data_set_description("diabetes")
    >>> description["n_samples"], description["n_features"]
    (442, 10)
    >>> data_set_description("digits")["n_features"]
    54
    >>> data_set_description("synthetic")["preprocessing"]
    []
    """
    if data not in DATA:
        raise ValueError(f"unknown data {data!r}; choose one of {', '.join(DATA)}")
    if data == "synthetic":
        return {
            "name": "synthetic",
            "source": (
                "generated by riemgn.data from the run's seed: inputs with a "
                "prescribed condition number (conditioned_inputs) or with a "
                "near-duplicate sample (near_duplicate_inputs), labelled by a "
                "teacher network near the initialization (teacher_student); each "
                "claim's sizes are in its configuration"
            ),
            "preprocessing": [],
            "claims": data_support(data),
        }
    import importlib.metadata

    X, _ = load_data(data)  # the features every run on the data starts from
    version = importlib.metadata.version("scikit-learn")
    description = {"name": data, **_REAL_DESCRIPTIONS[data](version)}
    description.update(n_samples=int(X.shape[0]), n_features=int(X.shape[1]))
    description["preprocessing"] = [
        *description["preprocessing"],
        f"all {X.shape[0]} samples and {X.shape[1]} features used: no "
        "subsampling, no train/test split",
    ]
    description["claims"] = data_support(data)
    return description


def data_support(data: str) -> dict:
    """Which claims run on ``data``, and why each of the others does not.

    Returns
    -------
    dict
        ``supported``: the claim ids; ``unsupported``: ``{claim id: reason}``,
        the reasons declared next to each claim's ``data``
        (``riemgn.verify.Claim.unsupported``).

    Examples
    --------
    >>> support = data_support("breast_cancer")
    >>> support["supported"]
    ['C1']
    >>> "strongly convex" in support["unsupported"]["C2"]
    True
    """
    from riemgn.verify import CLAIMS

    return {
        "supported": [c.id for c in CLAIMS.values() if data in c.data],
        "unsupported": {
            c.id: c.unsupported_reason(data)
            for c in CLAIMS.values()
            if data not in c.data
        },
    }


def _diabetes_description(version: str) -> dict:
    return {
        "source": (
            f"scikit-learn's bundled diabetes data set (scikit-learn {version}, "
            "sklearn.datasets.load_diabetes with scaled=False; Efron, Hastie, "
            "Johnstone and Tibshirani, Least Angle Regression, Annals of "
            "Statistics 32, 2004), read from the installed package, no download"
        ),
        "features": (
            "age, sex, body mass index, average blood pressure and six blood "
            "serum measurements s1-s6, as recorded"
        ),
        "target": "a measure of disease progression one year after baseline",
        "preprocessing": [
            "each feature column centred and divided by its population standard "
            "deviation (mean 0, standard deviation 1)",
            "the target centred and divided by its population standard deviation",
        ],
    }


def _breast_cancer_description(version: str) -> dict:
    return {
        "source": (
            f"scikit-learn's bundled breast cancer Wisconsin (diagnostic) data set "
            f"(scikit-learn {version}, sklearn.datasets.load_breast_cancer; "
            "Street, Wolberg and Mangasarian, 1993), read from the installed "
            "package, no download"
        ),
        "features": (
            "mean, standard error and worst value of ten measurements of the "
            "cell nuclei in a digitized image of a fine needle aspirate"
        ),
        "target": "the diagnosis: +1 benign (357), -1 malignant (212)",
        "preprocessing": [
            "each feature column centred and divided by its population standard "
            "deviation (mean 0, standard deviation 1)",
            "the labels mapped to +1 (benign) and -1 (malignant), the convention "
            "of riemgn.losses.LogisticLoss",
        ],
    }


def _digits_description(version: str) -> dict:
    return {
        "source": (
            f"scikit-learn's bundled handwritten digits (scikit-learn {version}, "
            "sklearn.datasets.load_digits; a copy of the test set of the UCI "
            "optical recognition of handwritten digits data), read from the "
            "installed package, no download"
        ),
        "features": (
            "the grey levels (0-16) of the 8 x 8 pixels of the 357 images of "
            "the digits 3 and 8"
        ),
        "target": "the digit: +1 a 3 (183), -1 an 8 (174)",
        "preprocessing": [
            "only the images of the digits 3 and 8 kept (a binary task: the "
            "networks have one output)",
            "the 10 pixels blank in every one of these images dropped (they "
            "cannot be standardized); each other column centred and divided by "
            "its population standard deviation and by sqrt(54), so that an "
            "image has unit mean squared norm (else tanh saturates at a "
            "standard initialization)",
            "the labels mapped to +1 (a 3) and -1 (an 8), the convention of "
            "riemgn.losses.LogisticLoss",
        ],
    }


_REAL_DESCRIPTIONS = {
    "diabetes": _diabetes_description,
    "breast_cancer": _breast_cancer_description,
    "digits": _digits_description,
}


def data_words(data: str) -> tuple[str, str]:
    """How a claim's notes name a real data set and its target.

    Examples
    --------
    >>> data_words("digits")
    ('digits', '+-1 labels (3 against 8)')
    """
    return _DATA_WORDS[data]
