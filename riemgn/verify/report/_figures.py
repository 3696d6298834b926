"""Figures fit for a paper: a title, labels, data, and no legend over the data."""

from __future__ import annotations

import numpy as np

__all__ = ["figure_problems"]


def figure_problems(figure) -> list[str]:
    """What keeps a figure out of a paper: no title, labels or data, a missing legend, or one over the data.

    Checked on the matplotlib objects, before saving. A figure has a title if
    it has a suptitle or every visible axes has a title; every visible axes
    needs x and y labels and some data, and a legend if it shows more than
    one labelled series. No legend (of an axes or of the figure) may cover a
    plotted point of any axes: the figure is laid out, and each legend's
    window extent, padded by 2 pixels, is compared with the display
    coordinates of every marker, of points every 3 pixels along each drawn
    line, and of every scatter point inside an axes.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure to inspect.

    Returns
    -------
    list of str
        One sentence per problem; empty for a complete figure.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from riemgn.verify import figure_problems
    >>> figure = Figure()
    >>> ax = figure.add_subplot()
    >>> _ = ax.loglog([1e-3, 1e-2, 1e-1], [1e-9, 1e-7, 1e-5], "o-", label="error")
    >>> for problem in figure_problems(figure):
    ...     print(problem)
    no title (figure suptitle or a title on every axes)
    axes 0 has no x label
    axes 0 has no y label
    >>> _ = ax.set(title="Global error", xlabel="step h", ylabel="error")
    >>> figure_problems(figure)
    []

    A legend in the corner where the data lie covers them:

    >>> _ = ax.loglog([1e-3, 1e-2, 1e-1], [1e-5, 1e-6, 1e-7], "s-", label="other")
    >>> _ = ax.legend(loc="upper right")
    >>> print(*figure_problems(figure))  # doctest: +ELLIPSIS
    the legend of axes 0 covers ... plotted points of axes 0
    """
    problems = []
    axes = [ax for ax in figure.get_axes() if ax.get_visible()]
    if not axes:
        return ["the figure has no axes"]
    has_title = bool(figure.get_suptitle()) or all(ax.get_title() for ax in axes)
    if not has_title:
        problems.append("no title (figure suptitle or a title on every axes)")
    for k, ax in enumerate(axes):
        if not ax.get_xlabel():
            problems.append(f"axes {k} has no x label")
        if not ax.get_ylabel():
            problems.append(f"axes {k} has no y label")
        if not (ax.lines or ax.collections or ax.patches or ax.images):
            problems.append(f"axes {k} shows no data")
        labelled = [
            a
            for a in (*ax.lines, *ax.collections)
            if a.get_label() and not a.get_label().startswith("_")
        ]
        if len(labelled) > 1 and ax.get_legend() is None:
            problems.append(
                f"axes {k} has {len(labelled)} labelled series but no legend"
            )
    problems += _covered_points(figure, axes)
    return problems


def _plotted_points(ax) -> np.ndarray:
    """The display coordinates of the points ``ax`` draws inside its frame.

    The vertices of its lines (markers and line joints), points every 3
    pixels along their drawn segments and along line collections
    (``vlines``), and the offsets of its scatter collections, each through
    its artist's own transform (so an ``axhline`` counts where it is drawn);
    points outside the axes' frame are clipped, not drawn, and left out.
    """
    from matplotlib.collections import LineCollection, PathCollection

    points = []
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = np.column_stack(
            [np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)]
        )
        if not xy.size:
            continue
        xy = line.get_transform().transform(xy)
        if line.get_linestyle() not in ("None", "none", "", " ") and len(xy) > 1:
            xy = _along(xy, _LINE_SPACING)
        points.append(xy)
    for collection in ax.collections:
        if not collection.get_visible():
            continue
        if isinstance(collection, LineCollection):  # vlines, hlines, segments
            transform = collection.get_transform()
            for segment in collection.get_segments():
                if len(segment):
                    xy = transform.transform(np.asarray(segment, float))
                    points.append(_along(xy, _LINE_SPACING))
        elif isinstance(collection, PathCollection):  # scatter
            offsets = np.asarray(collection.get_offsets(), float)
            if offsets.size:
                transform = collection.get_offset_transform()
                points.append(transform.transform(offsets))
    if not points:
        return np.empty((0, 2))
    xy = np.concatenate(points)
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    frame = ax.bbox
    inside = (
        (xy[:, 0] >= frame.x0)
        & (xy[:, 0] <= frame.x1)
        & (xy[:, 1] >= frame.y0)
        & (xy[:, 1] <= frame.y1)
    )
    return xy[inside]


#: A drawn line counts as points this many pixels apart along its segments.
_LINE_SPACING = 3.0


def _along(xy: np.ndarray, spacing: float) -> np.ndarray:
    """Points every ``spacing`` pixels along the polyline ``xy`` (its vertices too)."""
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if len(xy) < 2:
        return xy
    pieces = [xy[:1]]
    for start, end in zip(xy[:-1], xy[1:], strict=True):
        count = int(min(np.hypot(*(end - start)) // spacing, 10_000))
        fractions = np.arange(1, count + 2) / (count + 1)
        pieces.append(start + fractions[:, None] * (end - start))
    return np.concatenate(pieces)


def _covered_points(figure, axes) -> list[str]:
    """A sentence per legend that covers plotted points of any axes."""
    figure.draw_without_rendering()  # lays out the legends and the axes
    legends = [
        (f"the legend of axes {k}", ax.get_legend()) for k, ax in enumerate(axes)
    ]
    legends += [("a figure legend", box) for box in figure.legends]
    problems = []
    for name, box in legends:
        if box is None or not box.get_visible():
            continue
        area = box.get_window_extent().padded(2.0)  # pixels
        for k, ax in enumerate(axes):
            xy = _plotted_points(ax)
            covered = int(
                np.count_nonzero(
                    (xy[:, 0] >= area.x0)
                    & (xy[:, 0] <= area.x1)
                    & (xy[:, 1] >= area.y0)
                    & (xy[:, 1] <= area.y1)
                )
            )
            if covered:
                points = "point" if covered == 1 else "points"
                problems.append(f"{name} covers {covered} plotted {points} of axes {k}")
    return problems
