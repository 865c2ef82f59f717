"""The package's shape, checked: web -> features -> core, no import cycles, Starlette only in web/.

Every `import` in every module counts, also those inside functions and under TYPE_CHECKING: an import
put inside a function to dodge a cycle is still a cycle. The rules (docs/architecture.md):

- no cycle between modules;
- only `events_app/web/` (and the entry points app.py, asgi.py, cli.py) imports `events_app.web` or Starlette;
- `events_app/core/` imports no other part of the package;
- a feature package never imports web/ (covered by the second rule, reported on its own).
"""

from __future__ import annotations

import ast
import re
from collections import deque
from pathlib import Path

PACKAGE = "events_app"
PACKAGE_DIR = Path(__file__).resolve().parent.parent / PACKAGE
#: Entry points that wire the web edge together (the app factory, ASGI module, command line).
ENTRY_POINTS = {f"{PACKAGE}.app", f"{PACKAGE}.asgi", f"{PACKAGE}.cli"}
WEB = f"{PACKAGE}.web"
CORE = f"{PACKAGE}.core"

#: (importing module, imported module or external top-level name, line)
Edge = tuple[str, str, int]


def module_names(package_dir: Path, package: str) -> dict[str, Path]:
    """Dotted name -> file for every module of the package (a package is its __init__.py)."""
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [package, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    """Every import in the module, wherever it stands: internal ones resolved to the module they load,
    external ones as their top-level name (e.g. "starlette")."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    edges: list[Edge] = []

    def add(target: str, line: int) -> None:
        if target.split(".")[0] != PACKAGE:
            edges.append((module, target.split(".")[0], line))
            return
        while target and target not in modules:  # `import events_app.x.y` loads events_app.x.y
            target = target.rpartition(".")[0]
        if target and target != module:
            edges.append((module, target, line))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(node, module, path.name == "__init__.py")
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                add(submodule if submodule in modules else base, node.lineno)
    return edges


def import_edges(package_dir: Path = PACKAGE_DIR, package: str = PACKAGE) -> list[Edge]:
    modules = module_names(package_dir, package)
    return [edge for name, path in modules.items() for edge in imports_of(name, path, modules)]


def find_cycles(edges: list[Edge]) -> list[list[str]]:
    """One concrete cycle (a -> b -> ... -> a) per strongly connected group of modules."""
    graph: dict[str, set[str]] = {}
    for source, target, _ in edges:
        graph.setdefault(source, set()).add(target)
        graph.setdefault(target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[set[str]] = []

    def connect(start: str) -> None:  # Tarjan, iterative (no recursion limit on a big package)
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1 or node in graph[node]:
                    groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_path_around(group, graph) for group in groups]


def _path_around(group: set[str], graph: dict[str, set[str]]) -> list[str]:
    """The shortest way from the group's first module back to itself, inside the group."""
    start = min(group)
    came_from: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(graph[node] & group):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(came_from[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if child not in came_from:
                came_from[child] = node
                queue.append(child)
    raise AssertionError(f"no cycle in {group}")


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def forbidden_edges(edges: list[Edge]) -> dict[str, list[Edge]]:
    """Every edge that breaks a rule, by rule."""
    broken: dict[str, list[Edge]] = {"web or Starlette imported outside web/": [],
                                     "core imports a feature": [], "a feature imports web": []}
    for source, target, line in edges:
        web_side = _inside(source, WEB) or source in ENTRY_POINTS
        if not web_side and (target == "starlette" or _inside(target, WEB)):
            broken["web or Starlette imported outside web/"].append((source, target, line))
        if _inside(source, CORE) and _inside(target, PACKAGE) and not _inside(target, CORE):
            broken["core imports a feature"].append((source, target, line))
        if (source.count(".") >= 2 and not _inside(source, CORE) and not web_side
                and _inside(target, WEB)):
            broken["a feature imports web"].append((source, target, line))
    return {rule: found for rule, found in broken.items() if found}


def _described(edges: list[Edge]) -> str:
    return "\n".join(f"  {source} -> {target} (line {line})" for source, target, line in edges)


# --- the package -------------------------------------------------------------------------------

EDGES = import_edges()


def _cycle_described(cycle: list[str], edges: list[Edge]) -> str:
    lines = {(source, target): line for source, target, line in edges}
    return "  " + " -> ".join(f"{source} (line {lines[source, target]})" for source, target in zip(cycle, cycle[1:])) \
        + f" -> {cycle[-1]}"


def test_the_package_has_no_import_cycle():
    cycles = find_cycles(EDGES)
    assert not cycles, "import cycles:\n" + "\n".join(_cycle_described(cycle, EDGES) for cycle in cycles)


def test_only_web_imports_web_or_starlette():
    found = forbidden_edges(EDGES).get("web or Starlette imported outside web/", [])
    assert not found, "imports of web/ or Starlette outside web/:\n" + _described(found)


def test_core_imports_no_feature():
    found = forbidden_edges(EDGES).get("core imports a feature", [])
    assert not found, "core/ must stand alone:\n" + _described(found)


def test_no_feature_imports_web():
    found = forbidden_edges(EDGES).get("a feature imports web", [])
    assert not found, "feature packages must not import web/:\n" + _described(found)


def test_the_scan_sees_the_package_and_imports_inside_functions():
    """Guards the guard: the scan finds the layers it checks, and imports inside functions count."""
    sources = {source for source, _, _ in EDGES}
    assert {f"{PACKAGE}.web.routes", f"{PACKAGE}.mail.delivery", f"{PACKAGE}.core.urls"} <= sources
    assert (f"{PACKAGE}.web.routes", "starlette") in {(s, t) for s, t, _ in EDGES}
    assert (f"{PACKAGE}.cli", f"{PACKAGE}.worker") in {(s, t) for s, t, _ in EDGES}  # imported inside a function


# --- the checks can fail -------------------------------------------------------------------------

def test_a_cycle_in_a_small_graph_is_found_and_named():
    edges = [("events_app.mail.outbox", "events_app.mail.content", 3),
             ("events_app.mail.content", "events_app.seats.registration", 9),
             ("events_app.seats.registration", "events_app.mail.outbox", 25),
             ("events_app.seats.registration", "events_app.core.models", 20)]
    assert find_cycles(edges) == [["events_app.mail.content", "events_app.seats.registration",
                                   "events_app.mail.outbox", "events_app.mail.content"]]
    assert find_cycles(edges[1:]) == []
    assert find_cycles([("events_app.a", "events_app.a", 1)]) == [["events_app.a", "events_app.a"]]


def test_forbidden_edges_in_a_small_graph_are_named():
    edges = [("events_app.core.urls", "events_app.seats.registration", 5),
             ("events_app.receptions.letters", "events_app.web.templating", 12),
             ("events_app.backoffice.exports", "starlette", 7),
             ("events_app.web.pages", "starlette", 1),
             ("events_app.app", "events_app.web.routes", 20),
             ("events_app.seats.signup", "events_app.core.models", 4)]
    assert forbidden_edges(edges) == {
        "web or Starlette imported outside web/": [("events_app.receptions.letters", "events_app.web.templating", 12),
                                                   ("events_app.backoffice.exports", "starlette", 7)],
        "core imports a feature": [("events_app.core.urls", "events_app.seats.registration", 5)],
        "a feature imports web": [("events_app.receptions.letters", "events_app.web.templating", 12)],
    }


def test_a_cycle_hidden_inside_a_function_is_found_in_source(tmp_path):
    package = tmp_path / "events_app"
    (package / "mail").mkdir(parents=True)
    (package / "seats").mkdir()
    for init in (package, package / "mail", package / "seats"):
        (init / "__init__.py").write_text("")
    (package / "mail" / "outbox.py").write_text(
        "def queue():\n    from events_app.mail import content\n    return content\n")
    (package / "mail" / "content.py").write_text("from ..seats.registration import register\n")
    (package / "seats" / "registration.py").write_text(
        "import events_app.mail.outbox\n\ndef register():\n    pass\n")
    edges = import_edges(package, "events_app")
    assert ("events_app.mail.outbox", "events_app.mail.content", 2) in edges
    assert find_cycles(edges) == [["events_app.mail.content", "events_app.seats.registration",
                                   "events_app.mail.outbox", "events_app.mail.content"]]


# --- nothing outlives a transaction on a pooled PostgreSQL connection (core/pg_connection.py) ---

SESSION_STATE = re.compile(r"^\s*(SET\s+(?!LOCAL\b)(SESSION\s+)?\w+|LISTEN\b|SELECT\s+pg_advisory_lock)")  # SQL is upper case here
SESSION_CONFIG = re.compile(r"set_config\([^)]*,\s*false\s*\)", re.I)


def _session_statements(source: str, filename: str) -> list[str]:
    """String constants that would leave state in a database session: plain SET, LISTEN, advisory locks."""
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for statement in node.value.split(";"):
                if SESSION_STATE.match(statement) or SESSION_CONFIG.search(statement):
                    found.append(f"{filename}:{node.lineno}: {statement.strip()[:80]}")
    return found


def test_no_sql_leaves_state_in_a_pooled_session():
    """Pooled connections go back without asyncpg's reset query, so no statement may set something for the
    whole session: `SET LOCAL` and `set_config(..., true)` only (PRAGMA is SQLite's, per connection)."""
    roots = [PACKAGE_DIR, PACKAGE_DIR.parent / "alembic-free-migrations"]
    found = [hit for root in roots for path in sorted(root.rglob("*.py"))
             for hit in _session_statements(path.read_text(), str(path.relative_to(PACKAGE_DIR.parent)))]
    assert found == []


def test_the_session_state_check_sees_what_it_must():
    source = 'A = "SET statement_timeout = 0"\nB = "SET LOCAL lock_timeout = 5"\nC = "SELECT 1; LISTEN x"\n' \
             'D = "UPDATE event SET seats_taken = 1"\nE = "PERFORM set_config(\'lock_timeout\', x, false)"\n'
    assert [hit.split(": ", 1)[1] for hit in _session_statements(source, "x.py")] == [
        "SET statement_timeout = 0", "LISTEN x", "PERFORM set_config('lock_timeout', x, false)"]
