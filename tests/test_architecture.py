"""The architecture as tests: the import direction, one linear-algebra core, and sizes.

See ``ARCHITECTURE.md``. Each rule is a function that returns its violations,
so that a test can also show that a deliberately broken tree is caught.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("manifolds", "riemgn")

#: The layers, lowest first. A module may import from its own layer and the
#: ones below, never from a layer above. The first matching prefix decides.
LAYERS = (
    ("manifolds", 0),
    ("riemgn._checks", 1),
    ("riemgn.networks", 2),
    ("riemgn.data", 3),
    ("riemgn.losses", 3),
    ("riemgn.theory", 3),
    ("riemgn.dynamics", 4),
    # The historical public paths re-export the dynamics layer.
    ("riemgn.flows", 4),
    ("riemgn.solvers", 4),
    ("riemgn.damping", 4),
    ("riemgn.equivalence", 4),
    ("riemgn.verify", 5),
    # Sweeps run the verify layer's process pool.
    ("riemgn.sweeps", 5),
    ("riemgn.cli", 6),
    ("riemgn.__main__", 7),
    # The top-level namespace imports its submodules lazily (PEP 562).
    ("riemgn", 7),
)

#: Names any layer may import from the top-level package.
TOP_LEVEL_CONSTANTS = {"riemgn.__version__"}

#: The calls that factorize a matrix; only the core may make them.
FACTORIZATIONS = re.compile(r"\b(qr|svd|lstsq|cholesky|cho_factor)\(")
CORE = "manifolds/linalg.py"
#: The one exception: the SVD of the inputs X of a synthetic data set.
ALLOWED = {"riemgn/data.py": re.compile(r"\bsvd\(X\b")}

MAX_FUNCTION_LINES = 90
MAX_MODULE_LINES = 600


def layer_of(module: str) -> int | None:
    for prefix, layer in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return layer
    return None


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def python_files(root: Path):
    for package in PACKAGES:
        yield from sorted((root / package).rglob("*.py"))


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            base = module.split(".")
            base = base if is_package else base[:-1]
            base = base[: len(base) - (node.level - 1)]
            target = ".".join(base + ([node.module] if node.module else []))
        else:
            target = node.module or ""
        # ``from pkg import sub`` may import a submodule: check both.
        return [target] + [f"{target}.{alias.name}" for alias in node.names]
    return []


def _only_constants(node: ast.AST) -> bool:
    return isinstance(node, ast.ImportFrom) and all(
        f"riemgn.{alias.name}" in TOP_LEVEL_CONSTANTS for alias in node.names
    )


def import_violations(root: Path) -> list[str]:
    """Every import that runs up the layers or reaches a private ``manifolds._*``."""
    found = []
    for path in python_files(root):
        module = module_name(path, root)
        source_layer = layer_of(module)
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            ours = [
                target
                for target in _imported(node, module, path.name == "__init__.py")
                if target.split(".")[0] in PACKAGES
            ]
            where = f"{path.relative_to(root)}:{getattr(node, 'lineno', 0)}"
            above = [
                t
                for t in ours
                if (layer_of(t) or 0) > source_layer
                and not (t == "riemgn" and _only_constants(node))
                and t not in TOP_LEVEL_CONSTANTS
            ]
            if above:
                found.append(f"{where}: {module} imports {above[0]} (a layer above)")
            private = [
                t
                for t in ours
                if module.startswith("riemgn")
                and t.startswith("manifolds.")
                and any(part.startswith("_") for part in t.split(".")[1:])
            ]
            if private:
                found.append(f"{where}: {module} imports the private {private[0]}")
    return sorted(set(found))


def factorization_violations(root: Path) -> list[str]:
    """Every QR, SVD, least-squares or Cholesky call outside the core."""
    found = []
    for path in python_files(root):
        relative = path.relative_to(root).as_posix()
        if relative == CORE:
            continue
        allowed = ALLOWED.get(relative)
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if FACTORIZATIONS.search(line) and not (allowed and allowed.search(line)):
                found.append(f"{relative}:{number}: {line.strip()}")
    return found


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines = set()
    for node in ast.walk(tree):
        if isinstance(
            node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
        ):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def size_violations(root: Path) -> list[str]:
    """Functions over 90 lines and modules over 600 lines, docstrings and blank lines excluded."""
    found = []
    for path in python_files(root):
        text = path.read_text()
        lines = text.splitlines()
        tree = ast.parse(text)
        docstrings = _docstring_lines(tree)

        def code(first: int, last: int, lines=lines, docstrings=docstrings) -> int:
            return sum(
                1
                for number in range(first, last + 1)
                if number not in docstrings and lines[number - 1].strip()
            )

        relative = path.relative_to(root).as_posix()
        if (count := code(1, len(lines))) > MAX_MODULE_LINES:
            found.append(f"{relative}: {count} code lines > {MAX_MODULE_LINES}")
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                count = code(node.body[0].lineno, node.end_lineno)
                if count > MAX_FUNCTION_LINES:
                    found.append(
                        f"{relative}:{node.lineno} {node.name}: {count} lines "
                        f"> {MAX_FUNCTION_LINES}"
                    )
    return found


def test_imports_run_down_the_layers():
    assert import_violations(ROOT) == []


def test_every_module_has_a_layer():
    missing = [
        module_name(path, ROOT)
        for path in python_files(ROOT)
        if layer_of(module_name(path, ROOT)) is None
    ]
    assert missing == []


def test_only_the_core_factorizes():
    assert factorization_violations(ROOT) == []


def test_functions_and_modules_stay_small():
    assert size_violations(ROOT) == []


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for relative, text in {
        "manifolds/__init__.py": "",
        "riemgn/__init__.py": "",
        **files,
    }.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"manifolds/geometry.py": "import riemgn.theory\n"}, "a layer above"),
        (
            {"riemgn/theory/spectra.py": "from riemgn.dynamics.solvers import x\n"},
            "a layer above",
        ),
        (
            {"riemgn/networks/mlp.py": "from ..verify import runner\n"},
            "a layer above",
        ),
        (
            {"riemgn/losses.py": "def f():\n    from riemgn.cli import main\n"},
            "a layer above",
        ),
        ({"riemgn/losses.py": "from manifolds._chart import Chart\n"}, "private"),
        (
            {"riemgn/theory/pl.py": "from riemgn import gauss_newton_flow\n"},
            "a layer above",
        ),
        ({"manifolds/checks.py": "import riemgn\n"}, "a layer above"),
    ],
)
def test_a_broken_direction_is_caught(tmp_path, files, expected):
    violations = import_violations(_tree(tmp_path, files))
    assert len(violations) == 1 and expected in violations[0], violations


def test_an_allowed_direction_passes(tmp_path):
    root = _tree(
        tmp_path,
        {
            "riemgn/verify/c1.py": "from riemgn.dynamics.flows import f\n",
            "riemgn/theory/pl.py": "from manifolds.linalg import factorize\n",
            "manifolds/checks.py": "from manifolds._chart import Chart\n",
        },
    )
    assert import_violations(root) == []


def test_a_factorization_outside_the_core_is_caught(tmp_path):
    root = _tree(
        tmp_path,
        {
            "manifolds/linalg.py": "Q, R = scipy.linalg.qr(J)\n",
            "riemgn/theory/pl.py": "s = np.linalg.svd(J, compute_uv=False)\n",
            "riemgn/data.py": "U, s, Vt = np.linalg.svd(X)\nQ = np.linalg.qr(A)\n",
        },
    )
    violations = factorization_violations(root)
    assert [v.split(":")[0] for v in violations] == [
        "riemgn/data.py",
        "riemgn/theory/pl.py",
    ]


def test_a_long_function_is_caught(tmp_path):
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES + 1))
    short = "".join(f"    x{i} = {i}\n" for i in range(MAX_FUNCTION_LINES))
    root = _tree(
        tmp_path,
        {
            "riemgn/long.py": f'def f():\n    """Doc.\n\n    More.\n    """\n{body}',
            "riemgn/short.py": f'def g():\n    """Doc."""\n{short}',
        },
    )
    violations = size_violations(root)
    assert len(violations) == 1 and "riemgn/long.py:1 f" in violations[0]
