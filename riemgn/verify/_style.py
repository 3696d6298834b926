r"""One look for the figures of every claim: sizes, titles, labels, legends.

Every claim module draws its figure with :func:`new_figure`, labels it with
the mathtext symbols of :data:`SYMBOLS`, places each legend with
:func:`legend` (beside its axes, never over the data) and ends with
:func:`finish`, which writes the one title format

    ``C2 · GN converges at a rate independent of cond(G) [pass]``

and sets every font size. Series drawn by index take their colour from
:func:`color` (the colour-blind-safe cycle :data:`COLORS`, which is also
every axes' default) and their marker from :data:`MARKERS`; flow statuses
and integration schemes are named by :data:`STATUSES` and :data:`SCHEMES`.
The runner marks a figure made on real data with
:func:`mark_data`. Nothing here changes matplotlib's global state: the
figures are plain :class:`matplotlib.figure.Figure` objects, styled artist
by artist.
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure

__all__ = [
    "COLORS",
    "MARKERS",
    "SCHEMES",
    "STATUSES",
    "SYMBOLS",
    "finish",
    "legend",
    "mark_data",
    "new_figure",
    "color",
    "sci",
]

#: The colour cycle of every axes: Okabe and Ito's palette, told apart with
#: any colour vision and in grey print (blue, vermillion, bluish green,
#: orange, reddish purple, sky blue).
COLORS = ("#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9")

#: Markers for series drawn as points, in the order of :data:`COLORS`.
MARKERS = ("o", "s", "^", "D", "v", "P")

#: The symbols of the axis labels and legends, in mathtext.
SYMBOLS = {
    "alpha": r"$\alpha$",
    "cond_G0": r"$\mathrm{cond}(G_0)$",
    "lambda_G0": r"$\lambda_{\min}(G_0)$",
    "lambda_K0": r"$\lambda_{\min}(K_0)$",
    "time": r"time $t$",
    "step": r"step $h$",
    "excess": r"$h(u_t) - h^*$",
    "relative_excess": r"$(h(u_t) - h^*)\,/\,(h(u_0) - h^*)$",
    "relative_residual": r"$\|u_t - y\|\,/\,\|u_0 - y\|$",
    "rate_unit": r"(1/time)",
}

#: Display names of the integration schemes.
SCHEMES = {"euler": "Euler", "heun": "Heun", "rk4": "RK4"}

#: Display names of the statuses of a flow (riemgn.flows.FlowStatus values).
STATUSES = {
    "converged": "converged",
    "t_end": "stopped at the end time",
    "left_region": "left the ball",
    "rank_loss": "lost rank",
    "blow_up": "blew up",
    "solver_failed": "solver failed",
}

_SIZES = {"suptitle": 12.0, "title": 10.5, "label": 10.0, "tick": 9.0, "legend": 8.5}


def new_figure(ncols: int = 2, *, width: float = 5.6, height: float = 3.9):
    """A figure with ``ncols`` side-by-side axes, outside pyplot (no GUI backend).

    Returns ``(figure, axes)`` with ``axes`` a list. The figure uses the
    constrained layout, which keeps labels and the legends beside the axes
    inside the image; ``width`` is per axes and leaves room for a legend.
    """
    figure = Figure(figsize=(width * ncols, height), layout="constrained")
    axes = [figure.add_subplot(1, ncols, k + 1) for k in range(ncols)]
    for ax in axes:
        ax.set_prop_cycle(color=COLORS)  # this axes only, not the rcParams
        ax.grid(True, which="major", alpha=0.3)
    return figure, axes


def color(k: int) -> str:
    """The ``k``-th colour of :data:`COLORS` (cyclically), for series drawn by index.

    Examples
    --------
    >>> color(0), color(len(COLORS))
    ('#0072B2', '#0072B2')
    """
    return COLORS[k % len(COLORS)]


def legend(ax, **options):
    """The legend of ``ax``, to the right of its axes, where it covers no data.

    Returns the :class:`matplotlib.legend.Legend`, or ``None`` when ``ax``
    has no labelled artist.
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    settings = {
        "loc": "upper left",
        "bbox_to_anchor": (1.02, 1.0),
        "borderaxespad": 0.0,
        "frameon": False,
        "fontsize": _SIZES["legend"],
        "handlelength": 1.8,
    }
    settings.update(options)
    return ax.legend(handles, labels, **settings)


def finish(figure: Figure, claim_id: str, title: str, status: str) -> Figure:
    """Give ``figure`` the one title format and the shared font sizes.

    The title reads ``"<claim_id> · <title> [<status>]"``.
    """
    figure.suptitle(f"{claim_id} · {title} [{status}]", fontsize=_SIZES["suptitle"])
    for ax in figure.get_axes():
        ax.title.set_fontsize(_SIZES["title"])
        ax.xaxis.label.set_fontsize(_SIZES["label"])
        ax.yaxis.label.set_fontsize(_SIZES["label"])
        ax.tick_params(labelsize=_SIZES["tick"])
        box = ax.get_legend()
        if box is not None:
            for text in box.get_texts():
                text.set_fontsize(_SIZES["legend"])
    return figure


def mark_data(figure: Figure, data: str) -> None:
    """Name the data set in the title of a figure made on real data.

    ``"synthetic"`` leaves the figure as it is; any other data set is added
    to the title as ``" — diabetes data"``.
    """
    if data == "synthetic":
        return
    text = figure.get_suptitle()  # set by finish()
    if f"{data} data" in text:
        return
    figure.suptitle(
        f"{text} — {data} data" if text else f"{data} data",
        fontsize=_SIZES["suptitle"],
    )


def sci(value: float, digits: int = 1) -> str:
    r"""``value`` in mathtext scientific notation, with ``digits`` decimals.

    Examples
    --------
    >>> sci(8600.0), sci(1e-8, 0)
    ('$8.6 \\times 10^{3}$', '$10^{-8}$')
    """
    if not math.isfinite(value) or value <= 0:
        return f"{value:g}"
    exponent = math.floor(math.log10(value))
    mantissa = f"{value / 10**exponent:.{digits}f}"
    if float(mantissa) == 1.0 and digits == 0:
        return f"$10^{{{exponent}}}$"
    return f"${mantissa} \\times 10^{{{exponent}}}$"
