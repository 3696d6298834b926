"""Levenberg-Marquardt damping rules: the public path of :mod:`riemgn.dynamics.damping`.

Everything in :mod:`riemgn.dynamics.damping`'s ``__all__`` is re-exported here.
"""

from riemgn.dynamics.damping import *  # noqa: F403
from riemgn.dynamics.damping import __all__  # noqa: F401
