"""Writing a report: the figures in their formats, ``report.json`` and ``report.md``.

The files are written into a private directory beside the output directory
and swapped in as a whole (``riemgn.verify._outdir``).
"""

from __future__ import annotations

import json
import pathlib

from riemgn.verify import _outdir
from riemgn.verify.report._markdown import markdown
from riemgn.verify.report._model import Report

__all__ = ["write_report"]


#: The figure formats :func:`riemgn.verify.write_report` can write.
_FIGURE_FORMATS = ("png", "pdf", "svg")


def _check_formats(formats) -> tuple[str, ...]:
    """``formats`` as a tuple of distinct figure formats: the PNG first, then the given order.

    Parameters
    ----------
    formats : str or sequence of str
        Names from ``"png"``, ``"pdf"`` and ``"svg"``, as a
        sequence or as one comma-separated string (``"png,pdf"``).

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        If ``formats`` is empty or names an unknown format.
    TypeError
        If ``formats`` is not a string or a sequence of strings.

    Examples
    --------
    >>> _check_formats("pdf, svg,pdf")
    ('pdf', 'svg')
    >>> _check_formats(["svg", "png"])
    ('png', 'svg')
    """
    if isinstance(formats, str):
        items = [part.strip() for part in formats.split(",")]
    elif isinstance(formats, (list, tuple)):
        items = list(formats)
    else:
        raise TypeError(
            "`formats` must be a string or a sequence of strings such as "
            f"('png', 'pdf'), got {type(formats).__name__}"
        )
    for item in items:
        if not isinstance(item, str):
            raise TypeError(
                f"`formats` must hold strings, got {type(item).__name__} {item!r}"
            )
    items = [item.strip().lower() for item in items if item.strip()]
    if not items:
        raise ValueError(
            f"`formats` is empty; choose from {', '.join(_FIGURE_FORMATS)}"
        )
    unknown = [item for item in items if item not in _FIGURE_FORMATS]
    if unknown:
        raise ValueError(
            f"`formats` = {formats!r} names unknown figure formats "
            f"{', '.join(map(repr, unknown))}; choose from {', '.join(_FIGURE_FORMATS)}"
        )
    # The PNG first (report.md and the docs pages show a claim's first
    # figure), then the others in the order given.
    return tuple(sorted(dict.fromkeys(items), key=lambda kind: kind != "png"))


#: What each vector format's metadata leaves out: no creation date, so that
#: the same run writes the same bytes.
_SAVE_METADATA = {"png": None, "pdf": {"CreationDate": None}, "svg": {"Date": None}}


def write_report(report: Report, out, *, formats=("png",)) -> dict[str, pathlib.Path]:
    """Write the figures, ``report.json`` and ``report.md`` into ``out``.

    The report is replaced whole or not at all: the new one is assembled
    in a private temporary directory beside ``out`` and swapped in with one
    atomic rename (Linux; elsewhere ``out`` is briefly absent, but never
    mixed), so a reader sees the old report or the new one. Any error or
    interrupt removes the temporary directory and leaves ``out`` as it was.
    Files in ``out`` that are not part of the previous report (not
    ``report.json``, ``report.md`` or a figure it lists) are kept. While it
    writes, it holds the lock that ``riemgn verify`` holds for its whole
    run, so two writers never mix. A figure that cannot be rendered is left
    out, with a note in its claim.

    Each figure is saved once per format of ``formats``: PNG at 150 dpi,
    PDF and SVG as vector graphics (without a creation date), named
    :attr:`riemgn.verify.ClaimResult.figure_name` with the format's suffix
    (``C1.png``, ``C1.pdf``, ``C1.svg``). Each claim's ``figures`` in
    ``report.json`` lists its files, the PNG first when there is one.

    Parameters
    ----------
    report : Report
        What :func:`riemgn.verify.run` returned.
    out : str or path-like
        The output directory, created if needed (check it first with
        :func:`riemgn.verify.prepare_output`).
    formats : str or sequence of str, default ("png",)
        The figure formats, from ``"png"``, ``"pdf"`` and ``"svg"``, as a
        sequence or a comma-separated string.

    Returns
    -------
    dict
        The paths written (``pathlib.Path``), by kind: ``"json"``,
        ``"markdown"``, each claim id for its first figure (the PNG if
        written, else the first of ``formats``), and ``"<id>.<format>"`` for
        every figure file.

    Raises
    ------
    OSError
        If a file cannot be written (``out`` is then unchanged).
    ValueError, TypeError
        If ``formats`` is empty or names an unknown format.
    OutputDirectoryError
        If ``out`` is empty or the current directory, or another process
        (a ``riemgn verify`` run) holds it.

    Examples
    --------
    >>> import json, tempfile
    >>> from matplotlib.figure import Figure
    >>> from riemgn.verify import Check, Claim, Task, Verdict, run, write_report
    >>> def partial_sum(n):
    ...     return sum(0.5**k for k in range(n))
    >>> def figure(config, results, verdict):
    ...     fig = Figure(figsize=(3, 2))
    ...     ax = fig.add_subplot()
    ...     ax.semilogy([abs(2.0 - s) for s in results], "o")
    ...     ax.set(title="Geometric series", xlabel="run", ylabel="|S_n - 2|")
    ...     return fig
    >>> claim = Claim(
    ...     id="C0",
    ...     title="Geometric series",
    ...     statement="1 + 1/2 + 1/4 + ... = 2.",
    ...     criterion="|S_n - 2| <= 1e-6",
    ...     presets={"quick": {"n": 30}, "full": {"n": 50}},
    ...     tasks=lambda config, *, data, seed: [Task("S_n", partial_sum, config)],
    ...     evaluate=lambda config, results: Verdict(
    ...         [Check.below("error", abs(results[0] - 2.0), 1e-6)],
    ...         {"S_n": results[0]},
    ...         key="error",
    ...     ),
    ...     figure=figure,
    ... )
    >>> report = run([claim], progress=False)
    >>> with tempfile.TemporaryDirectory() as out:
    ...     written = write_report(report, out)
    ...     print({kind: path.name for kind, path in written.items()})
    ...     data = json.loads(written["json"].read_text())
    ...     print(data["status"], data["claims"][0]["figures"])
    {'C0': 'C0.png', 'C0.png': 'C0.png', 'json': 'report.json', 'markdown': 'report.md'}
    pass ['C0.png']

    Vector figures for a paper:

    >>> with tempfile.TemporaryDirectory() as out:
    ...     written = write_report(report, out, formats="pdf,svg")
    ...     print(json.loads(written["json"].read_text())["claims"][0]["figures"])
    ['C0.pdf', 'C0.svg']
    """
    with _outdir.OutputLock(out):
        return _publish(report, out, formats=formats)


def _publish(
    report: Report, out, *, on_done=None, formats=("png",)
) -> dict[str, pathlib.Path]:
    """Stage the report beside ``out`` and swap it in (the caller holds the lock).

    ``on_done`` is called once the new report is in place (see
    ``riemgn.verify._outdir.swap_in``).
    """
    formats = _check_formats(formats)
    target = _outdir.target_of(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    with _outdir.staging(target) as staging:
        names = _write_files(report, staging, formats)
        _outdir.swap_in(staging, target, on_done=on_done)
    path = pathlib.Path(out)
    return {kind: path / name for kind, name in names.items()}


def _save_figure(figure, stem: str, directory: pathlib.Path, formats) -> list[str]:
    """Save ``figure`` as ``<stem>.<format>`` for each of ``formats``; the file names.

    A figure that cannot be rendered leaves no file behind and raises; an
    ``OSError`` (the file cannot be written) is not caught here either.
    """
    import matplotlib

    written: list[pathlib.Path] = []
    try:
        for kind in formats:
            written.append(directory / f"{stem}.{kind}")
            # a fixed salt: the same figure gets the same SVG element ids
            with matplotlib.rc_context({"svg.hashsalt": "riemgn"}):
                figure.savefig(
                    written[-1], dpi=150, format=kind, metadata=_SAVE_METADATA[kind]
                )
    except Exception:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return [path.name for path in written]


def _write_files(
    report: Report, directory: pathlib.Path, formats=("png",)
) -> dict[str, str]:
    """Write the figures, ``report.json`` and ``report.md`` into a new directory.

    Returns the file names by kind, as :func:`write_report` returns paths.
    ``formats`` is checked and ordered by ``_check_formats`` (the PNG first).
    """
    names: dict[str, str] = {}
    figures: dict[str, list[str]] = {}
    failed: dict[str, str] = {}
    for r in report.results:
        if r.figure is None:
            continue
        stem = pathlib.PurePath(r.figure_name).stem
        try:
            files = _save_figure(r.figure, stem, directory, formats)
        except OSError:
            raise
        except Exception as error:  # a figure that cannot be rendered
            failed[r.claim.id] = f"no figure: rendering it raised {error!r}"
            continue
        names[r.claim.id] = files[0]
        names.update(
            {f"{r.claim.id}.{name.rpartition('.')[2]}": name for name in files}
        )
        figures[r.claim.id] = files
    data = report.as_dict(figures)
    for claim in data["claims"]:
        if claim["id"] in failed:
            claim["notes"].append(failed[claim["id"]])
    (directory / "report.json").write_text(
        json.dumps(data, indent=2, allow_nan=False) + "\n"
    )
    (directory / "report.md").write_text(markdown(data) + "\n")
    names["json"] = "report.json"
    names["markdown"] = "report.md"
    return names
