"""The report directory: one writer at a time, replaced whole or not at all.

``riemgn verify --out D`` must leave ``D`` holding either the previous
report or the new one, never a mix, whatever happens meanwhile: a second
run on the same ``D``, Ctrl-C or SIGTERM at any point, a write that fails
half-way. Three pieces give that:

- :class:`OutputLock`, an exclusive ``flock`` on ``<parent>/.<name>.lock``
  held from before the claims run until the report is in place. The lock
  file sits beside ``D``, not in it, because ``D`` itself is replaced (a
  new inode) when the report is swapped in. A second run refuses at once
  instead of waiting. The lock file is removed on release; a run that
  opened it just before then may hold a lock on an unlinked file, so after
  ``flock`` succeeds the path is checked to still name the locked inode,
  and if not the run tries again (the usual protocol for removable lock
  files).
- :func:`staging`, a private directory ``<parent>/.<name>.tmp-XXXXXXXX``
  beside ``D`` (the same file system, so a rename can move it), where the
  new report is written. Any failure or interrupt removes it; ``D`` is
  untouched until the swap.
- :func:`swap_in`, which carries the files in ``D`` that are not part of
  the previous report (hard links, so nothing is copied or lost) into the
  new directory, then exchanges the two with ``renameat2(RENAME_EXCHANGE)``:
  one atomic step, after which a reader sees the new report, before which
  the old one. Where the call is not available (not Linux, an old kernel,
  a file system without it), ``D`` is renamed aside and the new directory
  renamed into place, during which ``D`` is briefly absent but never
  mixed. SIGINT and SIGTERM are held back (:func:`riemgn.verify._signals.deferred`)
  from the exchange until the old directory is deleted.

Temporary directories that a killed run (SIGKILL, power loss) leaves
behind carry the ``.<name>.tmp-`` prefix and are removed by the next run
that takes the lock.

Before any of that, :func:`prepare_output` (public as
:func:`riemgn.verify.prepare_output`) checks that a report can be written
there at all; every problem with the directory is an
:class:`OutputDirectoryError`, whose message names the library's argument
``out`` (``riemgn verify`` renders it with ``--out``).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import pathlib
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Iterator

from riemgn.verify import _signals

__all__ = [
    "REPORT_FILES",
    "OutputDirectoryError",
    "OutputLock",
    "prepare_output",
    "probe",
    "report_files",
    "staging",
    "swap_in",
    "target_of",
]

_AT_FDCWD = -100
_RENAME_EXCHANGE = 2
_NO_EXCHANGE = {errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP}
#: ``report.json`` and ``report.md``: with the figures report.json lists, the
#: files of a report (the rest of the directory belongs to the user).
REPORT_FILES = ("report.json", "report.md")


class OutputDirectoryError(ValueError):
    """The output directory cannot be used (unwritable, holds a report, or in use).

    Raised by :func:`riemgn.verify.prepare_output` before any experiment
    runs, and by :func:`riemgn.verify.write_report` when another process
    holds the directory's lock; ``riemgn verify`` turns it into a usage
    error (exit code 2). A :class:`ValueError`: the directory is a bad
    argument.

    The message names the argument ``out``; :meth:`message` names it
    otherwise (``riemgn verify`` names its options ``--out`` and
    ``--overwrite``).

    Parameters
    ----------
    path : str
        The output directory as given.
    problem : str
        What is wrong, after the path; ``{out}`` and ``{overwrite}`` stand
        for the names of the arguments, other fields for ``values``.
    values : dict, optional
        The other fields of ``problem``.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from riemgn.verify import OutputDirectoryError, prepare_output
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     file = pathlib.Path(tmp) / "notes.txt"
    ...     _ = file.write_text("not a directory")
    ...     try:
    ...         prepare_output(file)
    ...     except OutputDirectoryError as error:
    ...         print("exists and is not a directory" in str(error))
    True
    >>> error = OutputDirectoryError(
    ...     "report", "already holds a report; pass {overwrite} to replace it"
    ... )
    >>> print(error)
    `out` = 'report' already holds a report; pass overwrite=True to replace it
    >>> print(error.message(out="--out", overwrite="--overwrite"))
    --out 'report' already holds a report; pass --overwrite to replace it
    """

    def __init__(self, path: str, problem: str, values=None):
        super().__init__(path, problem, dict(values or {}))
        self.path, self.problem, self.values = self.args

    def __str__(self) -> str:
        return self.message()

    def message(self, out: str | None = None, overwrite: str | None = None) -> str:
        """The message, naming the arguments ``out`` and ``overwrite`` as given.

        Parameters
        ----------
        out : str, optional
            The name of the output directory argument; by default the
            message reads ```out` = 'path' ...``, else ``<out> 'path' ...``.
        overwrite : str, optional
            How to ask for an overwrite; by default ``overwrite=True``.

        Returns
        -------
        str

        Examples
        --------
        >>> error = OutputDirectoryError("", "is empty: name the report directory")
        >>> print(error.message(out="--out"))
        --out '' is empty: name the report directory
        """
        lead = f"`out` = {self.path!r}" if out is None else f"{out} {self.path!r}"
        names = {"out": out or "`out`", "overwrite": overwrite or "overwrite=True"}
        return f"{lead} {self.problem.format(**names, **self.values)}"


def target_of(out) -> pathlib.Path:
    """The absolute, symlink-free path of the report directory ``out``.

    Refuses the empty string (``pathlib.Path("")`` is the current
    directory) and the current directory or one that contains it: the
    directory is replaced as a whole, which would leave the shell that ran
    the command in a deleted directory.
    """
    text = os.fspath(out)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if text == "":
        raise OutputDirectoryError(
            "", "is empty: name the report directory, such as riemgn-report"
        )
    target = pathlib.Path(os.path.realpath(text))
    try:
        cwd = pathlib.Path(os.path.realpath(os.getcwd()))
    except OSError:  # the current directory was removed
        cwd = None
    contains_cwd = cwd is not None and (target == cwd or target in cwd.parents)
    if target.name == "" or contains_cwd:
        raise OutputDirectoryError(
            text,
            "is the current directory or contains it; the report directory is "
            "replaced as a whole, so give it a directory of its own, such as "
            "riemgn-report",
        )
    return target


def _display(out) -> str:
    return os.fsdecode(os.fspath(out))


class OutputLock:
    """An exclusive lock on the report directory ``out``, for one run.

    ``acquire`` creates the parent directory if needed and raises
    :class:`riemgn.verify.OutputDirectoryError` at once if another process
    holds the lock; ``release`` (also the end of a ``with`` block) removes
    the lock file. ``release`` is idempotent.
    """

    def __init__(self, out):
        self.out = out
        self.path: pathlib.Path | None = None
        self._fd: int | None = None

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def acquire(self) -> None:
        target = target_of(self.out)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise OutputDirectoryError(
                _display(self.out),
                "is not writable: {reason}",
                {"reason": error.strerror or error},
            ) from None
        path = target.parent / f".{target.name}.lock"
        with _signals.deferred():
            while True:
                try:
                    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
                except OSError as error:
                    raise OutputDirectoryError(
                        _display(self.out),
                        "is not writable: cannot create its lock file {lock!r}: "
                        "{reason}",
                        {"lock": str(path), "reason": error.strerror or error},
                    ) from None
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    raise OutputDirectoryError(
                        _display(self.out),
                        "is in use: another riemgn verify holds it (lock file "
                        "{lock!r}); wait for that run to end, or choose another {out}",
                        {"lock": str(path)},
                    ) from None
                except OSError as error:  # a file system without flock
                    os.close(fd)
                    raise OutputDirectoryError(
                        _display(self.out),
                        "cannot be locked: {reason}",
                        {"reason": error.strerror or error},
                    ) from None
                try:
                    same = os.path.samestat(os.fstat(fd), os.stat(path))
                except FileNotFoundError:
                    same = False
                if same:
                    break
                os.close(fd)  # the holder removed the file meanwhile: try again
            self.path, self._fd = path, fd
            _remove_stale(target)

    def release(self) -> None:
        if self._fd is None:
            return
        with _signals.deferred():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
            os.close(self._fd)
            self._fd = None


def _stale_pattern(target: pathlib.Path) -> re.Pattern:
    return re.compile(rf"\.{re.escape(target.name)}\.tmp-[a-z0-9_]{{8}}")


def _remove_stale(target: pathlib.Path) -> None:
    """Remove the temporary directories of killed runs (the caller holds the lock)."""
    pattern = _stale_pattern(target)
    stale: list[str] = []
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        stale = [
            entry.path
            for entry in entries
            if pattern.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False)
        ]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)


def _new_directory(target: pathlib.Path) -> pathlib.Path:
    with _signals.deferred():  # an interrupt must not lose track of it
        return pathlib.Path(
            tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-")
        )


def _remove(path: pathlib.Path) -> None:
    with _signals.deferred():
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def staging(target: pathlib.Path) -> Iterator[pathlib.Path]:
    """A new private directory beside ``target``; removed if the block raises.

    Any exception, :class:`KeyboardInterrupt` and
    :class:`riemgn.verify._signals.Terminated` included, removes the
    directory and propagates. After a successful :func:`swap_in` the
    directory no longer exists under its temporary name.
    """
    path = _new_directory(target)
    try:
        yield path
    except BaseException:
        _remove(path)
        raise
    if path.exists():  # the block did not swap it in
        _remove(path)


def probe(target: pathlib.Path) -> None:
    """Check that a directory can be staged beside ``target`` (raises OSError)."""
    path = _new_directory(target)
    _remove(path)


def report_files(directory: pathlib.Path) -> set[str]:
    """The names of the files of the report in ``directory``.

    ``report.json``, ``report.md`` and the figures ``report.json`` lists
    (plain file names only); an unreadable ``report.json`` lists none.
    """
    names = set(REPORT_FILES)
    try:
        data = json.loads((directory / "report.json").read_text())
        figures = [f for c in data.get("claims", []) for f in c.get("figures", [])]
    except (OSError, ValueError, AttributeError, TypeError):
        figures = []
    for name in figures:
        if isinstance(name, str) and name not in ("", ".", "..") and "/" not in name:
            names.add(name)
    return names


def _link_or_copy(source: str, destination: str) -> None:
    try:
        os.link(source, destination, follow_symlinks=False)
    except OSError:  # another file system, or hard links not allowed
        shutil.copy2(source, destination, follow_symlinks=False)


def _carry_over(target: pathlib.Path, new: pathlib.Path) -> None:
    """Put into ``new`` what ``target`` holds besides its report.

    An entry that the new report also writes is replaced by it, as a report
    file always was, unless it is a directory: then the report cannot be
    written, and ``IsADirectoryError`` says where.
    """
    old_report = report_files(target)
    with os.scandir(target) as iterator:
        entries = list(iterator)
    for entry in entries:
        is_dir = entry.is_dir(follow_symlinks=False)
        if entry.name in old_report and not is_dir:
            continue  # the previous report's own file: replaced
        destination = new / entry.name
        if os.path.lexists(destination):
            if is_dir:
                raise IsADirectoryError(
                    errno.EISDIR,
                    "is a directory, where the report writes a file",
                    entry.path,
                )
            continue
        if is_dir:
            shutil.copytree(
                entry.path, destination, symlinks=True, copy_function=_link_or_copy
            )
        else:
            _link_or_copy(entry.path, str(destination))


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _exchange(first: pathlib.Path, second: pathlib.Path) -> bool:
    """Swap two paths atomically; ``False`` where ``renameat2`` cannot."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_int,
        ctypes.c_char_p,
        ctypes.c_uint,
    ]
    renameat2.restype = ctypes.c_int
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in _NO_EXCHANGE:
        return False
    raise OSError(code, os.strerror(code), str(second))


def swap_in(new: pathlib.Path, target: pathlib.Path, *, on_done=None) -> None:
    """Make the directory ``new`` the directory ``target``, in one step.

    Files in ``target`` that are not part of its report are carried over
    first. ``on_done``, if given, is called once the new directory is in
    place, before a signal held back meanwhile is delivered.
    """
    existing = target.is_dir()
    if existing:
        _carry_over(target, new)
        mode = stat.S_IMODE(target.stat().st_mode)
    else:
        mode = 0o777 & ~_umask()
    os.chmod(new, mode)
    with _signals.deferred():
        if not existing:
            os.rename(new, target)  # replaces nothing, or an empty directory
        elif _exchange(new, target):
            shutil.rmtree(new, ignore_errors=True)  # ``new`` now names the old one
        else:
            aside = _new_directory(target)
            os.rename(target, aside)  # replaces the empty ``aside``
            try:
                os.rename(new, target)
            except BaseException:
                os.rename(aside, target)
                raise
            shutil.rmtree(aside, ignore_errors=True)
        if on_done is not None:
            on_done()


def prepare_output(out, *, overwrite: bool = False) -> pathlib.Path:
    """Create ``out`` and make sure a report can be written there.

    Call it before running the claims, so that a bad ``out`` fails at once.
    Nothing is removed: with ``overwrite``, a previous report stays in place
    until :func:`riemgn.verify.write_report` replaces it, so an interrupted
    run loses nothing. The report is assembled beside ``out`` and then
    swapped in, so the directory that contains ``out`` must be writable
    too.

    Parameters
    ----------
    out : str or path-like
        The output directory; created with its parents if needed. Not the
        empty string, and not the current directory or one containing it
        (the report directory is replaced as a whole).
    overwrite : bool, optional
        Accept a directory that already holds ``report.json`` or
        ``report.md``.

    Returns
    -------
    pathlib.Path
        The directory, which exists and is writable.

    Raises
    ------
    OutputDirectoryError
        If ``out`` is empty, the current directory (or contains it), a
        file, cannot be created or written (nor a directory beside it), or
        already holds a report and ``overwrite`` is false.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from riemgn.verify import OutputDirectoryError, prepare_output
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = prepare_output(pathlib.Path(tmp) / "report")
    ...     print(out.name, out.is_dir())
    ...     _ = (out / "report.json").write_text("{}")
    ...     try:
    ...         prepare_output(out)
    ...     except OutputDirectoryError as error:
    ...         print("already holds a report" in str(error))
    ...     print(prepare_output(out, overwrite=True) == out)
    report True
    True
    True
    >>> try:
    ...     prepare_output("")
    ... except OutputDirectoryError as error:
    ...     print(error)
    `out` = '' is empty: name the report directory, such as riemgn-report
    """
    target = target_of(out)
    path = pathlib.Path(out)
    if path.exists() and not path.is_dir():
        raise OutputDirectoryError(str(path), "exists and is not a directory")
    previous = [name for name in REPORT_FILES if (path / name).exists()]
    if previous and not overwrite:
        raise OutputDirectoryError(
            str(path),
            "already holds a report ({files}); pass {overwrite} to replace it, "
            "or choose another {out}",
            {"files": ", ".join(previous)},
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe_file = path / ".riemgn-write-test"
        probe_file.write_text("")
        probe_file.unlink()
        probe(target)
    except OSError as error:
        raise OutputDirectoryError(
            str(path), "is not writable: {reason}", {"reason": error.strerror or error}
        ) from None
    return path
