"""The code an artifact depends on, derived from imports: the modules of
``analysis`` that a module imports, at module level or inside a function,
followed transitively.  A change to any of them changes the artifact's key."""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path

PACKAGE = "analysis"
PACKAGE_DIR = Path(__file__).resolve().parent.parent


def module_path(module: str) -> Path | None:
    """The source file of ``analysis.x.y`` (a module or a package's __init__)."""
    parts = module.split(".")[1:]
    base = PACKAGE_DIR.joinpath(*parts)
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    is_package = module_path(module) is not None and module_path(module).name == "__init__.py"
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


@functools.cache
def direct_imports(module: str) -> tuple[str, ...]:
    """The modules of the package that ``module`` imports anywhere in its source."""
    path = module_path(module)
    if path is None:
        return ()
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node)
            if target.split(".")[0] != PACKAGE:
                continue
            found.add(target)
            # ``from . import softmax``: the names may be modules themselves.
            found.update(f"{target}.{a.name}" for a in node.names if module_path(f"{target}.{a.name}"))
    return tuple(sorted(m for m in found if module_path(m) is not None and m != module))


def closure(*modules: str) -> list[str]:
    """``modules`` and every module of the package they import, transitively, sorted."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        module = todo.pop()
        if module in seen or module_path(module) is None:
            continue
        seen.add(module)
        todo.extend(direct_imports(module))
        parent = module.rsplit(".", 1)[0]
        if parent != module and parent.startswith(PACKAGE):
            todo.append(parent)  # a package's __init__ runs before its modules
    return sorted(seen)


def code_hash(*modules: str, files: tuple[str, ...] = ()) -> str:
    """SHA-256 over the source of :func:`closure` of ``modules`` and any data
    ``files`` (paths relative to the package) the computation reads."""
    h = hashlib.sha256()
    for module in closure(*modules):
        h.update(module.encode() + b"\0" + module_path(module).read_bytes())
    for name in files:
        h.update(name.encode() + b"\0" + (PACKAGE_DIR / name).read_bytes())
    return h.hexdigest()
