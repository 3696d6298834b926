"""The Gauss-Newton flow against the Riemannian gradient flow: the public path of :mod:`riemgn.dynamics.equivalence`.

Everything in :mod:`riemgn.dynamics.equivalence`'s ``__all__`` is re-exported here.
"""

from riemgn.dynamics.equivalence import *  # noqa: F403
from riemgn.dynamics.equivalence import __all__  # noqa: F401
