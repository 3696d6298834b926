"""The dynamics layer: flows, solvers, damping rules and the GN/Riemannian equivalence.

* :mod:`riemgn.dynamics.flows`: continuous-time flows (Gauss-Newton,
  Levenberg-Marquardt, gradient flow, the intrinsic Riemannian flow);
* :mod:`riemgn.dynamics.solvers`: the discrete-time iterations;
* :mod:`riemgn.dynamics.damping`: Levenberg-Marquardt damping rules;
* :mod:`riemgn.dynamics.equivalence`: the GN flow against the Riemannian
  gradient flow.

Everything here is re-exported at its historical path (``riemgn.flows``,
``riemgn.solvers``, ``riemgn.damping``, ``riemgn.equivalence``).
"""

__all__: list[str] = []
