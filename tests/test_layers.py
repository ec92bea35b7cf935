"""The project's imports run one way (read with ast, nothing executed).

foundation < models < segmentor/datasets < run < reporting < CLI/tools: a module may import
its own layer and those below, never above; modules import no cycle; an import inside a
function is only a measured lazy import of a heavy third-party module, marked ``# lazy:``
with its reason on the import line or the line above.
"""

from __future__ import annotations

import ast
import os
from collections import defaultdict

import pytest

from conftest import ROOT

# (layer, top-level names in it), bottom first: the README's "Layout" table.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("foundation", ("foundation", "mmcv_compat", "prompts")),
    ("models", ("dense", "long_clip", "model_families")),
    ("segmentor", ("customized_segmentor", "custom_datasets")),
    ("run", ("ovss",)),
    ("reporting", ("reporting",)),
    ("cli", ("eval_customized", "tools")),
)
RANK = {name: rank for rank, (_, names) in enumerate(LAYERS) for name in names}
LAYER_OF = {name: layer for layer, names in LAYERS for name in names}


def project_modules() -> dict[str, str]:
    """Dotted module name -> file, for every project file outside tests/configs/demo."""
    found = {}
    for folder, dirs, files in os.walk(ROOT):
        rel = os.path.relpath(folder, ROOT)
        top = "" if rel == "." else rel.split(os.sep)[0]
        if top.startswith(".") or top in ("tests", "configs", "demo", "work_dir", "docs"):
            dirs[:] = []
            continue
        for name in files:
            if not name.endswith(".py"):
                continue
            parts = [] if rel == "." else rel.split(os.sep)
            stem = name[:-3]
            module = ".".join(parts + ([] if stem == "__init__" else [stem]))
            if module.split(".")[0] in RANK:
                found[module] = os.path.join(folder, name)
    return found


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: str) -> list[tuple[str, int, bool]]:
    """(imported project module, line, inside a function) for each import of ``path``."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    known = project_modules_cache()
    is_package = path.endswith("__init__.py")
    in_function: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            in_function.update(id(n) for n in ast.walk(node) if n is not node)
    out = []
    for node in ast.walk(tree):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node, is_package)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target:
                out.append((target, node.lineno, id(node) in in_function))
    return out


_CACHE: dict[str, str] = {}


def project_modules_cache() -> dict[str, str]:
    if not _CACHE:
        _CACHE.update(project_modules())
    return _CACHE


def test_every_top_level_package_has_a_layer():
    tops = {m.split(".")[0] for m in project_modules_cache()}
    assert tops <= set(RANK), tops - set(RANK)
    assert {"foundation", "dense", "model_families", "ovss"} <= tops


def test_imports_run_one_way():
    wrong = []
    for module, path in project_modules_cache().items():
        rank = RANK[module.split(".")[0]]
        for target, line, _ in imports_of(module, path):
            if RANK[target.split(".")[0]] > rank:
                layer, above = LAYER_OF[module.split(".")[0]], LAYER_OF[target.split(".")[0]]
                wrong.append(f"{module}:{line} ({layer}) imports {target} ({above})")
    assert not wrong, "\n".join(wrong)


def test_no_import_cycle():
    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in project_modules_cache().items():
        for target, _, _ in imports_of(module, path):
            if target != module:
                graph[module].add(target)
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = stack[stack.index(nxt) :] + [nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for module in sorted(project_modules_cache()):
        if module not in state:
            visit(module)


def test_function_level_imports_are_marked_lazy():
    """No import inside a function dodges a cycle; lazy heavy imports say why."""
    unmarked = []
    for path in project_modules_cache().values():
        source = open(path, encoding="utf-8").read()
        lines = source.splitlines()
        tree = ast.parse(source)
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom) and not _marked(lines, node):
                    rel = os.path.relpath(path, ROOT)
                    unmarked.append(f"{rel}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert not unmarked, "\n".join(unmarked)


def _marked(lines: list[str], node: ast.stmt) -> bool:
    """``# lazy:`` on the import's lines, or on the comment/import lines right above it (one
    mark covers a block of lazy imports)."""
    own = lines[node.lineno - 1 : (node.end_lineno or node.lineno)]
    if any("# lazy:" in line for line in own):
        return True
    row = node.lineno - 2
    while row >= 0:
        text = lines[row].strip()
        if "# lazy:" in text:
            return True
        if text and not (
            text.startswith(("#", "import ", "from ")) or text.endswith((",", "(", ")"))
        ):
            return False
        row -= 1
    return False


def test_the_checker_sees_a_violation(tmp_path):
    """Negative control: an upward import in a foundation module is reported."""
    module = "foundation.fake"
    path = tmp_path / "fake.py"
    path.write_text("from ovss.config import ROOT\n")
    targets = [t for t, _, _ in imports_of(module, str(path))]
    assert "ovss.config" in targets
    assert RANK["ovss"] > RANK["foundation"]
