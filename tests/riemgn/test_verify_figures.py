"""The claims' figures, as a paper would print them.

One quick run of every claim gives the six figures. Each must be complete
(``figure_problems``): titled, labelled, with legends that cover no plotted
point. Their text must use mathtext for symbols, one title format, and no
internal names ("problem 0", "left_region", "kernel_tied"). The legend check
itself is shown to catch a legend placed over data.
"""

from __future__ import annotations

import re

import matplotlib
import numpy as np
import pytest
import verify_dummy
from matplotlib.figure import Figure

from riemgn.verify import CLAIMS, figure_problems, run
from riemgn.verify._style import COLORS, finish, legend, mark_data, new_figure


@pytest.fixture(scope="module")
def figures():
    report = run(list(CLAIMS.values()), jobs=2, progress=False)
    return {r.claim.id: r.figure for r in report.results}


def _texts(figure: Figure) -> list[str]:
    """Every text a reader sees, apart from the tick labels."""
    texts = [figure.get_suptitle()]
    for ax in figure.get_axes():
        texts += [ax.get_title(), ax.get_xlabel(), ax.get_ylabel()]
        box = ax.get_legend()
        if box is not None:
            texts += [t.get_text() for t in box.get_texts()]
    return [t for t in texts if t]


def _outside_math(text: str) -> str:
    """``text`` without its ``$...$`` mathtext pieces."""
    return re.sub(r"\$[^$]*\$", " ", text)


@pytest.mark.parametrize("claim_id", list(CLAIMS))
def test_every_claim_figure_is_complete_and_no_legend_covers_data(figures, claim_id):
    figure = figures[claim_id]
    assert figure is not None
    assert figure_problems(figure) == []
    assert all(ax.get_legend() is not None for ax in figure.get_axes())


@pytest.mark.parametrize("claim_id", list(CLAIMS))
def test_figure_text_is_for_readers(figures, claim_id):
    texts = _texts(figures[claim_id])
    title = figures[claim_id].get_suptitle()
    assert re.fullmatch(rf"{claim_id} · \S.+ \[(pass|fail|inconclusive)\]", title)
    for text in texts:
        plain = _outside_math(text)
        # No identifiers of the code: snake_case names or 0-based problem ids.
        assert not re.search(r"\b[a-z]+_[a-z0-9_]+\b", plain), text
        assert not re.search(r"\bproblem 0\b", plain), text
        # Symbols are typeset: no spelled-out Greek letters or G0, K0, |x|.
        assert not re.search(
            r"\b(lambda|alpha|theta|mu|eps|epsilon|sigma|kappa)\b", plain
        ), text
        assert not re.search(r"\b[GK]0\b|\|", plain), text
        assert text.count("$") % 2 == 0, text


def test_c2_right_panel_title_names_its_axis(figures):
    right = figures["C2"].get_axes()[1]
    assert "cond" in right.get_xlabel() and "cond" in right.get_title()
    assert "lambda" not in right.get_title()


def _scatter_figure(loc: str) -> Figure:
    figure, (ax,) = new_figure(1)
    x = np.logspace(-3, 0, 12)
    ax.loglog(x, x**2, "o-", label="error")
    ax.loglog(x, x**3, "s-", label="other")
    ax.axhline(1e-7, ls=":", label="floor")
    ax.set(title="Errors", xlabel="step", ylabel="error")
    if loc == "beside":
        legend(ax)
    else:
        ax.legend(loc=loc)
    return finish(figure, "C0", "A test figure", "pass")


def test_a_legend_over_the_data_is_a_problem():
    covered = figure_problems(_scatter_figure("center"))
    assert len(covered) == 1
    assert re.fullmatch(
        r"the legend of axes 0 covers \d+ plotted points? of axes 0", covered[0]
    )
    assert figure_problems(_scatter_figure("beside")) == []


def test_a_horizontal_line_counts_where_it_is_drawn():
    # axhline's x data are axes fractions (0 and 1), its y data values: a
    # legend across the middle of the line covers it, not its end points.
    figure, (ax,) = new_figure(1)
    ax.plot([0.0, 1.0], [0.0, 1.0], "o")
    ax.axhline(0.95, label="level")
    ax.plot([], [], label="point")
    ax.set(title="t", xlabel="x", ylabel="y")
    ax.legend(loc="upper center")
    problems = figure_problems(figure)
    assert problems and "covers" in problems[0]


def test_a_figure_legend_over_any_axes_is_a_problem():
    figure, axes = new_figure(2)
    for ax in axes:
        ax.plot(np.linspace(0, 1, 50), np.full(50, 0.5), ".", label="a")
        ax.plot([], [], label="b")
        ax.set(title="t", xlabel="x", ylabel="y")
        legend(ax)
    figure.legend(["a", "b"], loc="center", bbox_to_anchor=(0.25, 0.5))
    assert any(p.startswith("a figure legend covers") for p in figure_problems(figure))


def test_real_data_figures_name_their_data_set():
    claim = verify_dummy.make("C9")
    report = run([claim], data="diabetes", progress=False)
    title = report.results[0].figure.get_suptitle()
    assert title.endswith("diabetes data")
    synthetic = run([claim], progress=False).results[0].figure
    assert "data" not in synthetic.get_suptitle()
    figure, _ = new_figure(1)
    finish(figure, "C1", "Title", "pass")
    mark_data(figure, "diabetes")
    mark_data(figure, "diabetes")  # once only
    assert figure.get_suptitle() == "C1 · Title [pass] — diabetes data"


def test_vertical_line_collections_count():
    # C4 draws the Hessian band with vlines (a LineCollection, no offsets).
    figure, (ax,) = new_figure(1)
    ax.vlines([0.5], [0.0], [1.0], lw=6, label="band")
    ax.plot([0.0, 1.0], [0.0, 1.0], "o", label="ends")
    ax.set(title="t", xlabel="x", ylabel="y", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="center")
    problems = figure_problems(figure)
    assert problems and "covers" in problems[0]
    legend(ax)
    assert figure_problems(figure) == []


def test_the_style_is_local_to_its_figures():
    # The colour cycle and font sizes are set on each figure's own artists;
    # matplotlib's global rcParams (and so any user's own plots) stay as they were.
    before = dict(matplotlib.rcParams)
    figure, (ax,) = new_figure(1)
    first, second = ax.plot([0, 1], [0, 1], [0, 1], [1, 0])
    ax.set(title="t", xlabel="x", ylabel="y")
    legend(ax)
    finish(figure, "C0", "A test figure", "pass")
    mark_data(figure, "diabetes")
    assert (first.get_color(), second.get_color()) == COLORS[:2]
    assert dict(matplotlib.rcParams) == before
