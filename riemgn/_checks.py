"""Argument checks shared by the flows, the solvers and the diagnostics."""

from __future__ import annotations

import math

from manifolds._validation import describe

__all__ = ["check_loss", "check_t_span"]


def check_loss(
    loss,
    n_outputs: int | None,
    *,
    where: str = "the output map",
    require: tuple[str, ...] = ("value", "gradient"),
) -> int:
    """Check that ``loss`` is a loss on outputs of size ``n_outputs``; return its size.

    Raises
    ------
    TypeError
        If ``loss`` lacks ``n_outputs`` or one of the ``require``-d methods.
    ValueError
        If its targets ``y`` do not have one entry per output.
    """
    missing = [name for name in require if not callable(getattr(loss, name, None))]
    if getattr(loss, "n_outputs", None) is None:
        missing.append("n_outputs")
    if missing:
        raise TypeError(
            "`loss` must be a loss on outputs such as riemgn.losses.SquaredLoss(y) "
            f"(with n_outputs, {', '.join(require)}); {describe(loss)} lacks {missing}"
        )
    n_loss = int(loss.n_outputs)
    if n_outputs is not None and n_loss != n_outputs:
        raise ValueError(
            f"the loss has n_outputs = {n_loss} (its targets `y` have shape "
            f"({n_loss},)) but {where} has n_outputs = {n_outputs}; build the loss "
            f"with y of shape ({n_outputs},)"
        )
    return n_loss


def check_t_span(t_span) -> tuple[float, float]:
    """Check that ``t_span`` is a finite, increasing pair ``(t0, t1)`` and return it."""
    try:
        t0, t1 = (float(t) for t in t_span)
    except (TypeError, ValueError):
        raise ValueError(
            f"`t_span` must be a pair (t0, t1) of numbers, got {describe(t_span)}"
        ) from None
    if not (math.isfinite(t0) and math.isfinite(t1)):
        raise ValueError(f"`t_span` must be finite, got ({t0!r}, {t1!r})")
    if not t0 < t1:
        raise ValueError(
            f"`t_span` must be increasing (t0 < t1), got ({t0!r}, {t1!r}); the flows "
            "only run forward in time"
        )
    return t0, t1
