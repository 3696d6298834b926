r"""An :class:`~manifolds.OutputMap` for any JAX model, in float64 and compiled.

:class:`~manifolds.JaxOutputMap` takes a function ``fun(params) -> outputs`` written
with ``jax.numpy`` on a *pytree* of parameters (a dict of arrays, a list of
layers, an Equinox-style module) and gives the geometry layer the flat
float64 map :math:`F: \mathbb{R}^p \to \mathbb{R}^n` it works with.

Flattening
----------
``jax.flatten_util.ravel_pytree`` turns the initial pytree into the flat
vector :math:`\theta \in \mathbb{R}^p` (the leaves, each raveled row-major,
concatenated in the pytree's leaf order) and gives the inverse,
:meth:`~manifolds.JaxOutputMap.unravel`. The map is
:math:`F(\theta) = \mathtt{fun}(\mathtt{unravel}(\theta))`; every method
takes and returns flat float64 numpy arrays.

Derivatives
-----------
Every derivative is a composition of JAX's forward mode (``jax.jvp``,
``jax.linearize``) and reverse mode (``jax.vjp``), compiled once with
``jax.jit`` at the first call (per argument shape), so none is approximated:

* :math:`Jv` is one forward pass, :math:`J^\top w` one reverse pass;
* :math:`J` is ``jax.jacfwd`` (:math:`p` forward passes, batched) when
  :math:`p \le n`, the output-manifold regime, else ``jax.jacrev``
  (:math:`n` reverse passes);
* :math:`D^2F[v, w]` is the forward derivative along :math:`w` of
  :math:`\theta \mapsto J(\theta) v` (forward over forward);
* :math:`H_\nu v = \frac{d}{dt} \nabla_\theta \langle \nu, F(\theta + t v)
  \rangle |_{t=0}` is the forward derivative of one reverse pass (forward
  over reverse, the cheapest Hessian-vector product);
* :meth:`~manifolds.JaxOutputMap.jvp_batch` and :meth:`~manifolds.JaxOutputMap.vjp_batch`
  apply :math:`J` and :math:`J^\top` to the :math:`k` columns of a matrix
  with ``jax.vmap`` over one linearization or one pullback: the matrix-free
  (Krylov) solvers of :mod:`manifolds.linalg` call them for blocks of
  vectors.

Precision: float64 without a global switch
------------------------------------------
JAX computes in float32 unless 64-bit mode is on, and the geometry needs
float64 (its identities are tested to :math:`10^{-10}`). This class does
**not** set the global flag ``jax_enable_x64``: the initial pytree is
converted to float64 and each call (construction, every method) runs inside
the thread-local context ``jax.enable_x64(True)`` (``jax.experimental.enable_x64``
on JAX versions without it). JAX code elsewhere in the same program keeps
its own precision, as far as this class is concerned. But note that
pymanopt (2.2), which :mod:`manifolds` imports, turns the global flag on
itself when JAX is installed (its JAX backend runs
``config.update("jax_enable_x64", True)`` at import), so in a program that
imports :mod:`manifolds` with JAX present, 64-bit mode is in practice on
everywhere; this class does not rely on it. Two consequences of the
scoped context:

* the arrays that :meth:`~manifolds.JaxOutputMap.unravel` returns are float64 JAX
  arrays; used outside such a context, new operations on them may produce
  float32 again;
* data that ``fun`` closes over should be numpy arrays (or JAX arrays made
  under 64-bit mode): a ``jnp`` array created with the default settings is
  float32, and the construction refuses a ``fun`` whose computation contains
  any float32 (or float16, bfloat16) value, naming the cause, rather than
  silently losing eight digits.

Pickling
--------
Compiled functions do not pickle. A :class:`~manifolds.JaxOutputMap` pickles as its
``fun`` and its initial parameters (leaves as numpy arrays) and compiles
again when unpickled, so it crosses process boundaries (the verification
pool) exactly when ``fun`` itself pickles: a module-level function or a
picklable callable object does, a ``lambda`` or a local function does not,
and pickle then raises its own error naming the object.

``jax`` is imported lazily, when a map is built: :mod:`manifolds` imports
without JAX, and building a :class:`~manifolds.JaxOutputMap` without it raises
``ImportError: JaxOutputMap needs JAX: pip install "riemgn[jax]"``.

Examples start from ``np``, ``X``, ``output_map``, ``theta0``, ``manifold``
and ``u``: the model :math:`F(w) = \tanh(Xw)` and its output manifold, built
in the example of :class:`~manifolds.OutputManifold`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from manifolds.validation import NonFiniteError, as_finite_array, as_finite_vector
from manifolds.validation import describe as _describe

__all__ = ["JaxOutputMap"]

#: The one line shown when JAX is missing.
MISSING_JAX = 'JaxOutputMap needs JAX: pip install "riemgn[jax]"'

# Floating-point types that lose digits against float64.
_LOW_PRECISION = ("float32", "float16", "bfloat16")


def _import_jax():
    try:
        import jax
        import jax.flatten_util  # noqa: F401 - the submodule ravel_pytree lives in
    except ImportError:
        raise ImportError(MISSING_JAX) from None
    return jax


def _x64(jax):
    """The thread-local context that turns on float64 in JAX."""
    state = getattr(jax, "enable_x64", None)
    if state is not None:
        return state(True)
    from jax.experimental import enable_x64  # pragma: no cover - older JAX

    return enable_x64()  # pragma: no cover


def _float_leaves(jax, params) -> list[np.ndarray]:
    """The leaves of ``params`` as float64 numpy arrays, or a TypeError naming it."""
    leaves = jax.tree_util.tree_leaves(params)
    if not leaves:
        raise ValueError(
            "`params` must be a pytree with at least one floating-point array "
            f"leaf, got {_describe(params)}"
        )
    arrays = []
    for leaf in leaves:
        try:
            array = np.asarray(leaf)
        except Exception as error:
            raise TypeError(
                "`params` must be a pytree of floating-point arrays, got a leaf "
                f"{_describe(leaf)}"
            ) from error
        if array.dtype.kind != "f":
            raise TypeError(
                "`params` must be a pytree of real floating-point arrays, got a "
                f"leaf of dtype {array.dtype}: {_describe(leaf)}"
            )
        arrays.append(as_finite_array("params", array.astype(np.float64)))
    return arrays


def _low_precision_dtypes(jaxpr) -> set[str]:
    """The low-precision float dtypes of any value in a (closed) jaxpr, recursively."""
    found = set()
    for const in getattr(jaxpr, "consts", ()):
        found.add(str(getattr(const, "dtype", "")))
    inner = getattr(jaxpr, "jaxpr", jaxpr)
    variables = list(getattr(inner, "constvars", ())) + list(
        getattr(inner, "invars", ())
    )
    for equation in getattr(inner, "eqns", ()):
        variables += list(equation.invars) + list(equation.outvars)
        for value in equation.params.values():
            for item in value if isinstance(value, (tuple, list)) else (value,):
                if hasattr(item, "eqns") or hasattr(item, "jaxpr"):
                    found |= _low_precision_dtypes(item)
    for variable in variables:
        found.add(str(getattr(getattr(variable, "aval", None), "dtype", "")))
    return found & set(_LOW_PRECISION)


class JaxOutputMap:
    r"""The output map of a JAX function of a pytree of parameters.

    Implements :class:`~manifolds.OutputMap` for
    :math:`F(\theta) = \mathtt{fun}(\mathtt{unravel}(\theta))`, in float64,
    with every derivative exact (JAX's forward and reverse modes) and
    compiled; see :mod:`manifolds.jax_map` for the derivations, the float64
    policy (a scoped context, not the global flag) and pickling.

    Parameters
    ----------
    fun : callable
        ``fun(params) -> outputs``: maps a pytree shaped like ``params`` to
        a float64 array of shape ``(n_outputs,)``, written with
        ``jax.numpy`` so that JAX can trace and differentiate it. Data it
        closes over should be numpy arrays (see the module notes).
    params : pytree of floating-point arrays (any shapes)
        The initial parameters: an array, or a dict, list, tuple or other
        pytree of real floating-point arrays, finite. It fixes the structure
        and shapes that :meth:`~manifolds.JaxOutputMap.unravel` returns; its values are converted
        to float64 and used to check ``fun`` once.

    Raises
    ------
    ImportError
        If JAX is not installed.
    TypeError
        If ``fun`` is not callable, returns non-floating outputs or computes
        in low precision (float32), or ``params`` has a leaf that is not a
        real floating-point array.
    ValueError
        If ``params`` has no leaves or is not finite, or ``fun(params)`` is
        not a 1-d array with at least one entry, or not finite.

    Examples
    --------
    The model :math:`F(W, b) = \tanh(XW + b)` with its parameters in a dict
    (``X`` is a numpy array, so it stays float64):

    >>> import jax.numpy as jnp
    >>> from manifolds import JaxOutputMap, OutputManifold, OutputMap
    >>> params = {"W": np.array([0.3, -0.2]), "b": np.array(0.1)}
    >>> jax_map = JaxOutputMap(lambda q: jnp.tanh(X @ q["W"] + q["b"]), params)
    >>> (jax_map.n_outputs, jax_map.n_params)
    (6, 3)
    >>> theta = jax_map.ravel(params)
    >>> theta  # the leaves in key order: W, then b
    array([ 0.3, -0.2,  0.1])
    >>> bool(np.allclose(jax_map.value(theta), np.tanh(X @ params["W"] + 0.1)))
    True
    >>> isinstance(jax_map, OutputMap)
    True
    >>> OutputManifold(jax_map, theta).dim
    3
    """

    def __init__(self, fun: Callable[[Any], Any], params: Any):
        if not callable(fun):
            raise TypeError(f"`fun` must be callable, got {_describe(fun)}")
        jax = _import_jax()
        self._jax = jax
        self._fun = fun
        leaves = _float_leaves(jax, params)
        treedef = jax.tree_util.tree_structure(params)
        with _x64(jax):
            pytree = jax.tree_util.tree_unflatten(
                treedef, [jax.numpy.asarray(leaf) for leaf in leaves]
            )
            flat, self._unravel = jax.flatten_util.ravel_pytree(pytree)
        self._params0 = jax.tree_util.tree_unflatten(treedef, leaves)
        self._n_params = int(flat.shape[0])
        self._n_outputs = self._probe(np.array(flat, dtype=np.float64))
        self._compile()

    # --- construction -------------------------------------------------------

    def _probe(self, flat: np.ndarray) -> int:
        """Evaluate and trace ``fun`` once at ``params``: its outputs' shape and type."""
        jax = self._jax
        with _x64(jax):
            out = jax.eval_shape(self._flat_fun, flat)
            shape, dtype = tuple(getattr(out, "shape", ())), getattr(out, "dtype", None)
            if dtype is None or np.dtype(dtype).kind != "f":
                raise TypeError(
                    "`fun` must return a real floating-point array, got "
                    f"dtype {dtype} at `params`"
                )
            if len(shape) != 1 or shape[0] == 0:
                raise ValueError(
                    "`fun` must return a 1-d array of outputs with at least one "
                    f"entry, got an array of shape {shape} at `params`"
                )
            low = _low_precision_dtypes(jax.make_jaxpr(self._flat_fun)(flat))
            if low:
                raise TypeError(
                    f"`fun` computes in {', '.join(sorted(low))}, and JaxOutputMap "
                    "works in float64: make the data it closes over numpy arrays "
                    "(a jnp array created outside 64-bit mode is float32) and do "
                    "not cast to a lower precision"
                )
            value = np.asarray(jax.jit(self._flat_fun)(flat))
        if not np.all(np.isfinite(value)):
            raise ValueError(
                f"`fun` must return finite outputs at `params`, got "
                f"{int(np.sum(~np.isfinite(value)))} NaN or inf of {shape[0]}"
            )
        return int(shape[0])

    def _flat_fun(self, flat):
        return self._fun(self._unravel(flat))

    def _compile(self) -> None:
        jax = self._jax
        f = self._flat_fun

        def jvp(x, v):
            return jax.jvp(f, (x,), (v,))[1]

        def vjp(x, w):
            return jax.vjp(f, x)[1](w)[0]

        def second(x, v, w):
            return jax.jvp(lambda y: jvp(y, v), (x,), (w,))[1]

        def hvp(x, nu, v):
            return jax.jvp(lambda y: vjp(y, nu), (x,), (v,))[1]

        def jvp_batch(x, V):
            return jax.vmap(jax.linearize(f, x)[1], in_axes=1, out_axes=1)(V)

        def vjp_batch(x, W):
            pullback = jax.vjp(f, x)[1]
            return jax.vmap(lambda w: pullback(w)[0], in_axes=1, out_axes=1)(W)

        forward = self._n_params <= self._n_outputs
        self._compiled = {
            "value": jax.jit(f),
            "jacobian": jax.jit(jax.jacfwd(f) if forward else jax.jacrev(f)),
            "jvp": jax.jit(jvp),
            "vjp": jax.jit(vjp),
            "second_derivative": jax.jit(second),
            "weighted_hessian_vector": jax.jit(hvp),
            "jvp_batch": jax.jit(jvp_batch),
            "vjp_batch": jax.jit(vjp_batch),
        }

    def _call(self, name: str, *arrays: np.ndarray) -> np.ndarray:
        """Run a compiled function in float64; a new, writable numpy array."""
        with _x64(self._jax):
            out = self._compiled[name](*arrays)
        return np.array(out, dtype=np.float64)

    def __getstate__(self) -> dict:
        # Compiled functions do not pickle: keep fun and the initial leaves.
        return {"fun": self._fun, "params": self._params0}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["fun"], state["params"])

    # --- attributes and flattening -------------------------------------------

    @property
    def n_params(self) -> int:
        """The number of parameters :math:`p`: the total size of the leaves."""
        return self._n_params

    @property
    def n_outputs(self) -> int:
        """The number of outputs :math:`n`."""
        return self._n_outputs

    def ravel(self, params: Any) -> np.ndarray:
        r"""The flat float64 vector :math:`\theta` of a pytree shaped like the initial one.

        Parameters
        ----------
        params : pytree of floating-point arrays (any shapes)
            The same structure, shapes and leaf order as the ``params`` given
            at construction.

        Returns
        -------
        ndarray, shape (n_params,)

        Raises
        ------
        TypeError
            If a leaf is not a real floating-point array.
        ValueError
            If ``params`` is not finite, or its structure or size differs from
            the initial pytree's.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from manifolds import JaxOutputMap
        >>> jax_map = JaxOutputMap(lambda q: jnp.tanh(X @ q["w"]), {"w": np.ones(2)})
        >>> jax_map.ravel({"w": np.array([0.5, -1.0])})
        array([ 0.5, -1. ])
        """
        jax = self._jax
        leaves = _float_leaves(jax, params)
        expected = jax.tree_util.tree_structure(self._params0)
        if jax.tree_util.tree_structure(params) != expected:
            raise ValueError(
                f"`params` must have the structure of the initial parameters, "
                f"{expected}, got {jax.tree_util.tree_structure(params)}"
            )
        shapes = [np.shape(leaf) for leaf in jax.tree_util.tree_leaves(self._params0)]
        if [leaf.shape for leaf in leaves] != shapes:
            raise ValueError(
                f"`params` must have the leaf shapes of the initial parameters, "
                f"{shapes}, got {[leaf.shape for leaf in leaves]}"
            )
        return np.concatenate([leaf.ravel() for leaf in leaves])

    def unravel(self, params) -> Any:
        r"""The pytree of a flat vector :math:`\theta`: the inverse of :meth:`~manifolds.JaxOutputMap.ravel`.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The flat parameters :math:`\theta`.

        Returns
        -------
        pytree
            The structure and shapes of the initial parameters, with float64
            JAX arrays as leaves.

        Raises
        ------
        ValueError
            If ``params`` has the wrong shape or is not finite.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from manifolds import JaxOutputMap
        >>> jax_map = JaxOutputMap(lambda q: jnp.tanh(X @ q["w"]), {"w": np.ones(2)})
        >>> tree = jax_map.unravel(np.array([0.5, -1.0]))
        >>> np.asarray(tree["w"]), tree["w"].dtype
        (array([ 0.5, -1. ]), dtype('float64'))
        """
        flat = as_finite_vector("params", params, self._n_params)
        with _x64(self._jax):
            return self._unravel(self._jax.numpy.asarray(flat))

    # --- OutputMap ----------------------------------------------------------

    def _params(self, params) -> np.ndarray:
        return as_finite_vector("params", params, self._n_params)

    def value(self, params) -> np.ndarray:
        r"""The outputs :math:`F(\theta) = \mathtt{fun}(\mathtt{unravel}(\theta))`.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If ``params`` has the wrong shape or is not finite, or the outputs
            are not finite (:class:`~manifolds.validation.NonFiniteError`).

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from manifolds import JaxOutputMap
        >>> jax_map = JaxOutputMap(lambda w: jnp.tanh(X @ w), theta0)
        >>> bool(np.allclose(jax_map.value(theta0), np.tanh(X @ theta0)))
        True
        """
        params = self._params(params)
        out = self._call("value", params)
        if not np.all(np.isfinite(out)):
            raise NonFiniteError(
                f"`fun` returned {int(np.sum(~np.isfinite(out)))} NaN or inf "
                f"output(s) at `params` (max |params| = {np.max(np.abs(params)):.3e})"
            )
        return out

    def jacobian(self, params) -> np.ndarray:
        r"""The Jacobian :math:`J(\theta) = DF(\theta)`.

        ``jax.jacfwd`` when :math:`p \le n`, else ``jax.jacrev``.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.

        Returns
        -------
        ndarray, shape (n_outputs, n_params)
            A new array, the caller's to keep.

        Raises
        ------
        ValueError
            If ``params`` has the wrong shape or is not finite.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from manifolds import JaxOutputMap
        >>> jax_map = JaxOutputMap(lambda w: jnp.tanh(X @ w), theta0)
        >>> J = jax_map.jacobian(theta0)
        >>> bool(np.allclose(J, (1 - np.tanh(X @ theta0) ** 2)[:, None] * X))
        True
        """
        return self._call("jacobian", self._params(params))

    def jvp(self, params, vector) -> np.ndarray:
        r"""The Jacobian-vector product :math:`J(\theta) v`, one forward pass.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.
        vector : ndarray, shape (n_params,)
            The direction :math:`v`.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from manifolds import JaxOutputMap
        >>> jax_map = JaxOutputMap(lambda w: jnp.tanh(X @ w), theta0)
        >>> v = np.array([1.0, 2.0])
        >>> bool(np.allclose(jax_map.jvp(theta0, v), jax_map.jacobian(theta0) @ v))
        True
        """
        params = self._params(params)
        vector = as_finite_vector("vector", vector, self._n_params)
        return self._call("jvp", params, vector)

    def vjp(self, params, cotangent) -> np.ndarray:
        r"""The vector-Jacobian product :math:`J(\theta)^\top w`, one reverse pass.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.
        cotangent : ndarray, shape (n_outputs,)
            The cotangent :math:`w`.

        Returns
        -------
        ndarray, shape (n_params,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from manifolds import JaxOutputMap
        >>> jax_map = JaxOutputMap(lambda w: jnp.tanh(X @ w), theta0)
        >>> w = np.arange(6.0)
        >>> bool(np.allclose(jax_map.vjp(theta0, w), jax_map.jacobian(theta0).T @ w))
        True
        """
        params = self._params(params)
        cotangent = as_finite_vector("cotangent", cotangent, self._n_outputs)
        return self._call("vjp", params, cotangent)

    def second_derivative(self, params, vector_a, vector_b) -> np.ndarray:
        r"""The second derivative :math:`D^2F(\theta)[v, w]`, forward over forward.

        .. math::

            D^2F(\theta)[v, w] = \frac{d}{dt}\Big|_{t=0} J(\theta + t w)\, v .

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.
        vector_a, vector_b : ndarray, shape (n_params,)
            The directions :math:`v` and :math:`w`.

        Returns
        -------
        ndarray, shape (n_outputs,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite.

        Examples
        --------
        For :math:`F(\theta) = \tanh(X\theta)`, :math:`D^2F[v, w]_j =
        \tanh''(s_j)\,(Xv)_j (Xw)_j` with :math:`s = X\theta`:

        >>> import jax.numpy as jnp
        >>> from manifolds import JaxOutputMap
        >>> jax_map = JaxOutputMap(lambda w: jnp.tanh(X @ w), theta0)
        >>> v, w = np.array([1.0, 2.0]), np.array([-0.5, 1.0])
        >>> t = np.tanh(X @ theta0)
        >>> expected = -2 * t * (1 - t**2) * (X @ v) * (X @ w)
        >>> bool(np.allclose(jax_map.second_derivative(theta0, v, w), expected))
        True
        """
        params = self._params(params)
        vector_a = as_finite_vector("vector_a", vector_a, self._n_params)
        vector_b = as_finite_vector("vector_b", vector_b, self._n_params)
        return self._call("second_derivative", params, vector_a, vector_b)

    def weighted_hessian_vector(self, params, weights, vector) -> np.ndarray:
        r"""The product :math:`H_\nu(\theta) v`, forward over reverse.

        .. math::

            H_\nu(\theta) v = \frac{d}{dt}\Big|_{t=0}
                J(\theta + t v)^\top \nu,
            \qquad H_\nu = \sum_j \nu_j \nabla^2 F_j .

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.
        weights : ndarray, shape (n_outputs,)
            The weights :math:`\nu`.
        vector : ndarray, shape (n_params,)
            The vector :math:`v`.

        Returns
        -------
        ndarray, shape (n_params,)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite.

        Examples
        --------
        The identity :math:`w^\top H_\nu v = \langle \nu, D^2F[v, w]\rangle`:

        >>> import jax.numpy as jnp
        >>> from manifolds import JaxOutputMap
        >>> jax_map = JaxOutputMap(lambda w: jnp.tanh(X @ w), theta0)
        >>> v, w, nu = np.array([1.0, 2.0]), np.array([-0.5, 1.0]), np.arange(6.0)
        >>> lhs = w @ jax_map.weighted_hessian_vector(theta0, nu, v)
        >>> bool(np.isclose(lhs, nu @ jax_map.second_derivative(theta0, v, w)))
        True
        """
        params = self._params(params)
        weights = as_finite_vector("weights", weights, self._n_outputs)
        vector = as_finite_vector("vector", vector, self._n_params)
        return self._call("weighted_hessian_vector", params, weights, vector)

    # --- batched products (the Krylov solvers) -------------------------------

    def _block(self, name: str, value, rows: int) -> np.ndarray:
        block = as_finite_array(name, value, ndim=2)
        if block.shape[0] != rows:
            raise ValueError(
                f"`{name}` must have shape ({rows}, k), got shape {block.shape}"
            )
        return block

    def jvp_batch(self, params, vectors) -> np.ndarray:
        r"""The products :math:`J(\theta) V` for the :math:`k` columns of :math:`V`.

        One linearization at :math:`\theta`, mapped over the columns with
        ``jax.vmap``.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.
        vectors : ndarray, shape (n_params, k)
            The directions, one per column.

        Returns
        -------
        ndarray, shape (n_outputs, k)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from manifolds import JaxOutputMap
        >>> jax_map = JaxOutputMap(lambda w: jnp.tanh(X @ w), theta0)
        >>> V = np.array([[1.0, 0.0, 2.0], [0.0, 1.0, -1.0]])
        >>> bool(np.allclose(jax_map.jvp_batch(theta0, V), jax_map.jacobian(theta0) @ V))
        True
        """
        params = self._params(params)
        vectors = self._block("vectors", vectors, self._n_params)
        return self._call("jvp_batch", params, vectors)

    def vjp_batch(self, params, cotangents) -> np.ndarray:
        r"""The products :math:`J(\theta)^\top W` for the :math:`k` columns of :math:`W`.

        One reverse pass at :math:`\theta`, its pullback mapped over the
        columns with ``jax.vmap``.

        Parameters
        ----------
        params : ndarray, shape (n_params,)
            The parameters :math:`\theta`.
        cotangents : ndarray, shape (n_outputs, k)
            The cotangents, one per column.

        Returns
        -------
        ndarray, shape (n_params, k)

        Raises
        ------
        ValueError
            If an argument has the wrong shape or is not finite.

        Examples
        --------
        >>> import jax.numpy as jnp
        >>> from manifolds import JaxOutputMap
        >>> jax_map = JaxOutputMap(lambda w: jnp.tanh(X @ w), theta0)
        >>> W = np.arange(12.0).reshape(6, 2)
        >>> bool(np.allclose(jax_map.vjp_batch(theta0, W), jax_map.jacobian(theta0).T @ W))
        True
        """
        params = self._params(params)
        cotangents = self._block("cotangents", cotangents, self._n_outputs)
        return self._call("vjp_batch", params, cotangents)
