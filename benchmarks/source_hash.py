"""Cache keys from code: the sources of the modules a result's computation imports.

``code_version("benchmarks.tasks.accuracy", "baselines.mace")`` hashes those modules and every
module of ours they import, at module level or inside functions, transitively (found by reading
their import statements), so an edit anywhere on that path invalidates the cached result and a
renamed or moved file is followed automatically. A module that cannot be found is an error, never
an empty hash.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
from functools import cache

OURS = ("adapt", "baselines", "benchmarks", "reports")


class SourceError(RuntimeError):
    """A module named for a cache key (or imported by one) has no source file here."""


def _origin(module: str, imported_by: str | None = None) -> str:
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        where = f" (imported by {imported_by})" if imported_by else ""
        raise SourceError(f"code_version: no Python source for module {module!r}{where}")
    return spec.origin


def _is_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # parent is a module, not a package: an attribute
        return False


def _ours(name: str) -> bool:
    return name.split(".")[0] in OURS


def imported_modules(module: str) -> set[str]:
    """Our modules that ``module``'s source imports (anywhere in the file), plus its packages."""
    path = _origin(module)
    with open(path, "rb") as fh:
        tree = ast.parse(fh.read(), path)
    package = module if path.endswith("__init__.py") else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if _ours(a.name))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            if not _ours(base):
                continue
            found.add(base)
            for a in node.names:
                if _is_module(f"{base}.{a.name}"):
                    found.add(f"{base}.{a.name}")
    parents = {
        ".".join(m.split(".")[:i]) for m in found | {module} for i in range(1, m.count(".") + 1)
    }
    return (found | parents) - {module}


@cache
def source_closure(*modules: str) -> tuple[str, ...]:
    """``modules`` and every module of ours they import, transitively (sorted names)."""
    seen: set[str] = set()
    todo = [(m, None) for m in modules]
    while todo:
        name, parent = todo.pop()
        if name in seen:
            continue
        _origin(name, parent)  # a missing source is an error
        seen.add(name)
        todo.extend((m, name) for m in imported_modules(name) if m not in seen)
    return tuple(sorted(seen))


@cache
def code_version(*modules: str) -> str:
    """adapt-bench's version + sha256 of the sources of ``modules``' import closure."""
    from importlib.metadata import PackageNotFoundError, version

    if not modules:
        raise ValueError("code_version needs the modules whose code made the result")
    try:
        ver = version("adapt-bench")
    except PackageNotFoundError:  # pragma: no cover - running from a plain checkout
        ver = "0"
    h = hashlib.sha256(ver.encode())
    for name in source_closure(*modules):
        h.update(name.encode())
        with open(_origin(name), "rb") as fh:
            h.update(fh.read())
    return f"{ver}+{h.hexdigest()[:16]}"
