"""The package's promises about itself: no UI import in the core, no work at import time, no
import cycle, and a layout a newcomer can read (short modules, thin pages, folders not a flat heap)."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "genmodels"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def core_modules() -> list[str]:
    """Every genmodels module outside ui/ (the only part allowed to import streamlit)."""
    return sorted(module_name(p) for p in PACKAGE.rglob("*.py") if "ui" not in p.relative_to(PACKAGE).parts)


def test_importing_every_core_module_imports_no_streamlit_and_does_no_io(tmp_path):
    """Each core module imported in a fresh interpreter: afterwards streamlit and torchvision are not in
    sys.modules, no data file was opened and nothing was written."""
    modules = [m for m in core_modules() if m != "genmodels.__main__"]  # __main__ runs the CLI
    assert "genmodels.training.loop" in modules and "genmodels.serving.jobs" in modules  # the walk found them
    code = (
        "import sys, builtins, importlib\n"
        "opened = []\n"
        "real_open = builtins.open\n"
        "builtins.open = lambda *a, **k: (opened.append(a[0]), real_open(*a, **k))[1]\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "assert 'streamlit' not in sys.modules, 'streamlit imported'\n"
        "assert 'torchvision' not in sys.modules, 'torchvision imported at import time'\n"
        "data = [p for p in map(str, opened) if not p.endswith('.py') and not p.startswith('/proc/')]\n"
        "assert not data, data\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": str(ROOT), "HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written (no caches, no downloads)


def imports_of(path: Path) -> set[str]:
    """The genmodels modules ``path`` imports at module level or inside functions (not under
    TYPE_CHECKING): ``from genmodels.x import y`` counts as genmodels.x.y when that is a module."""
    found = set()
    tree = ast.parse(path.read_text())
    skipped = {id(node) for node in ast.walk(tree) if isinstance(node, ast.If)
               and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"
               for node in ast.walk(node)}
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.startswith("genmodels")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("genmodels"):
            found.add(node.module)
            found |= {f"{node.module}.{alias.name}" for alias in node.names}
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imports_of(path) if m in modules and m != name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in ``graph`` as a list of nodes (first == last), or None. Depth-first, three colours."""
    state, stack = {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for other in sorted(graph.get(node, ())):
            if state.get(other) == "open":
                return stack[stack.index(other):] + [other]
            if other not in state and (cycle := visit(other)):
                return cycle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle_and_only_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_genmodels_has_no_import_cycle():
    graph = import_graph()
    assert graph["genmodels.training.loop"]  # the walk sees imports
    assert find_cycle(graph) is None


def test_no_module_outside_ui_imports_streamlit():
    for path in PACKAGE.rglob("*.py"):
        if "ui" in path.relative_to(PACKAGE).parts:
            continue
        tree = ast.parse(path.read_text())
        names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        names += [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
        assert not [n for n in names if n.split(".")[0] == "streamlit"], path


def test_modules_are_short_pages_thin_and_the_package_not_flat():
    long_modules = [f"{p.relative_to(ROOT)}: {n}" for p in PACKAGE.rglob("*.py")
                    if (n := len(p.read_text().splitlines())) > 450]
    long_pages = [f"{p.relative_to(ROOT)}: {n}" for p in (ROOT / "pages").glob("*.py")
                  if (n := len(p.read_text().splitlines())) > 220]
    top_level = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert not long_modules, long_modules
    assert not long_pages, long_pages
    assert len(top_level) <= 14, top_level
