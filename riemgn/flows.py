"""Continuous-time flows: the public path of :mod:`riemgn.dynamics.flows`.

Everything in :mod:`riemgn.dynamics.flows`'s ``__all__`` is re-exported here.
"""

from riemgn.dynamics.flows import *  # noqa: F403
from riemgn.dynamics.flows import __all__  # noqa: F401
