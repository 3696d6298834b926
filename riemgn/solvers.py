"""Discrete-time solvers: the public path of :mod:`riemgn.dynamics.solvers`.

Everything in :mod:`riemgn.dynamics.solvers`'s ``__all__`` is re-exported here.
"""

from riemgn.dynamics.solvers import *  # noqa: F403
from riemgn.dynamics.solvers import __all__  # noqa: F401
