"""The rules of the house (doc/source/contributor/architecture.rst), as tests.

Every module under ``glance/`` is parsed with :mod:`ast`, never imported. Each
``import`` and ``from ... import`` is recorded with its line, whether it runs at
import time (module level, class bodies included) or inside a function, and
whether it sits under ``if TYPE_CHECKING:``. Relative imports are resolved, and
``from glance.x import y`` counts as an import of ``glance.x.y`` when that is a
module. Importing ``glance.a.b`` also runs ``glance/a/__init__.py``; that implicit
edge is not counted (a package's ``__init__`` importing its own submodules is the
normal shape, and would otherwise make every package a cycle).

The rules:

* No import cycle among glance modules. Every import is an edge: module level,
  inside a function, or under ``if TYPE_CHECKING:``.
* An import inside a function is allowed only for an optional third-party
  package (``OPTIONAL_IMPORTS``); a glance module or a required package is
  imported at the top of the module.
* Imports point down the layers of ``LAYERS``; a module may import its own layer
  and those below it, never a higher one:

  0 foundation
      ``glance`` (the package), ``i18n``, ``version``, ``exception``,
      ``secrets``, ``context``, ``url_filter``, ``conf``, ``schema`` (the JSON
      schemas, which the domain validates against).
  1 domain
      ``glance.domain``: entities and their rules.
  2 infrastructure
      ``db``, ``store``, ``policy`` and ``policies``, ``notifier``,
      ``format_inspection``, ``quota``, ``keystone_limits``, ``hierarchy``, ``signatures``,
      ``encryption_keys``, ``image_cache``, ``metadefs`` (the catalog files): the
      adapters the use cases drive.
  3 services
      ``glance.services``: the use cases.
  4 api
      ``glance.api``: HTTP.
  5 entry points
      ``glance.wsgi``, ``glance.cmd``.

* WebOb and Routes are imported only under ``glance/api/`` (``HTTP_LIBRARIES``).
  ``glance/cmd`` and ``glance/wsgi`` do not need them: the console scripts and
  the WSGI entry point reach HTTP through ``glance.api``.
* No module under ``glance/`` is longer than ``MAX_LINES`` lines.
* Controllers (``glance/api/v2/``) do not catch glance's exceptions
  (``except exception.X``): ``Resource`` hands them to the fault layer.
* Code never tests a role name (``"admin" in context.roles``): permissions are
  policy rules.
* Socket timeouts (``settimeout``, ``socket.setdefaulttimeout``) are set only
  under ``glance/cmd/`` (the ``glance-api`` worker), never in the WSGI application.
* ``tests/unit`` mirrors ``glance/``: the tests of ``glance/a/b.py`` (or of the
  package ``glance/a/b/``) are ``tests/unit/a/test_b.py``. The few test files
  about something else than one module are listed in ``UNMIRRORED_TESTS``.

Each checker is a function over a list of :class:`Module`; the ``test_checker_*``
tests feed it synthetic modules to show that it reports what it should.
"""

import ast
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import ROOT

MAX_LINES = 600

FOUNDATION, DOMAIN, INFRASTRUCTURE, SERVICES, API, ENTRY_POINTS = range(6)
LAYER_NAMES = {FOUNDATION: "foundation", DOMAIN: "domain", INFRASTRUCTURE: "infrastructure",
               SERVICES: "services", API: "api", ENTRY_POINTS: "entry points"}

# A module's layer is that of the longest key that is the module or a package above it
# (layer_of); every module must have one.
LAYERS = {
    "glance": FOUNDATION,
    "glance.i18n": FOUNDATION,
    "glance.version": FOUNDATION,
    "glance.exception": FOUNDATION,
    "glance.secrets": FOUNDATION,
    "glance.context": FOUNDATION,
    "glance.url_filter": FOUNDATION,
    "glance.conf": FOUNDATION,
    "glance.schema": FOUNDATION,
    "glance.domain": DOMAIN,
    "glance.db": INFRASTRUCTURE,
    "glance.store": INFRASTRUCTURE,
    "glance.store_hashing": INFRASTRUCTURE,
    "glance.s3_store": INFRASTRUCTURE,
    "glance.store_rbd": INFRASTRUCTURE,
    "glance.store_swift": INFRASTRUCTURE,
    "glance.policy": INFRASTRUCTURE,
    "glance.policies": INFRASTRUCTURE,
    "glance.notifier": INFRASTRUCTURE,
    "glance.format_inspection": INFRASTRUCTURE,
    "glance.quota": INFRASTRUCTURE,
    "glance.keystone_limits": INFRASTRUCTURE,
    "glance.hierarchy": INFRASTRUCTURE,
    "glance.property_protection": INFRASTRUCTURE,
    "glance.signatures": INFRASTRUCTURE,
    "glance.encryption_keys": INFRASTRUCTURE,
    "glance.image_cache": INFRASTRUCTURE,
    "glance.metadefs": INFRASTRUCTURE,
    "glance.services": SERVICES,
    "glance.api": API,
    "glance.wsgi": ENTRY_POINTS,
    "glance.cmd": ENTRY_POINTS,
}

# Third-party packages that may be missing, so imported where they are used.
OPTIONAL_IMPORTS = {
    "uwsgi",  # only importable inside a uwsgi worker (glance/api/wsgi.py)
    "lhafile",  # image_decompression's lha support, when installed (as in Glance)
}

# Third-party package -> the glance packages allowed to import it.
HTTP_LIBRARIES = {
    "webob": ("glance.api",),
    "routes": ("glance.api",),
}


# tests/unit files that test no single glance module or package, and what they test.
UNMIRRORED_TESTS = {
    "test_house_rules.py": "these rules, over every module of glance/",
    "test_mypy_baseline.py": "mypy over glance/, against tests/mypy-baseline.txt",
    "test_openapi.py": "doc/api/openapi.yaml against the router and the served schemas",
    "test_tox_generators.py": "the sample generators of tox.ini",
    "test_metadefs_files.py": "the catalog files in etc/metadefs",
}


@dataclass(frozen=True)
class Module:
    name: str        # glance.api.v2.images
    path: str        # glance/api/v2/images.py, as reported
    source: str
    is_package: bool = False


@dataclass(frozen=True)
class Import:
    source: str          # the importing module
    target: str          # a glance module, or the top-level name of another package
    path: str
    line: int
    in_function: bool
    type_checking: bool

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    @property
    def is_glance(self) -> bool:
        return self.target == "glance" or self.target.startswith("glance.")


def load_package(directory: Path) -> list[Module]:
    """Every module of the package in ``directory`` (a ``glance/`` tree)."""
    modules = []
    for path in sorted(directory.rglob("*.py")):
        relative = path.relative_to(directory.parent)
        parts = list(relative.with_suffix("").parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts.pop()
        modules.append(Module(".".join(parts), relative.as_posix(), path.read_text(),
                              is_package))
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _Collector(ast.NodeVisitor):
    def __init__(self, module: Module, known: set[str]):
        self.module = module
        self.known = known
        self.imports: list[Import] = []
        self.function_depth = 0
        self.type_checking_depth = 0

    def _resolve(self, name: str) -> str:
        """A glance name to the longest known module it starts with."""
        parts = name.split(".")
        while len(parts) > 1 and ".".join(parts) not in self.known:
            parts.pop()
        return ".".join(parts)

    def _add(self, target: str, node: ast.stmt) -> None:
        if target == "glance" or target.startswith("glance."):
            target = self._resolve(target)
        else:
            target = target.split(".")[0]
        self.imports.append(Import(self.module.name, target, self.module.path, node.lineno,
                                   self.function_depth > 0, self.type_checking_depth > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            package = self.module.name.split(".")
            if not self.module.is_package:
                package.pop()
            base = package[:len(package) - (node.level - 1)]
            if node.module:
                base.append(node.module)
            base_name = ".".join(base)
        else:
            base_name = node.module or ""
        glance = base_name == "glance" or base_name.startswith("glance.")
        for alias in node.names:
            submodule = f"{base_name}.{alias.name}"
            self._add(submodule if glance and submodule in self.known else base_name, node)

    def _function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for decorator in node.decorator_list:  # decorators and defaults run at def time
            self.visit(decorator)
        self.function_depth += 1
        for statement in node.body:
            self.visit(statement)
        self.function_depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.type_checking_depth += 1
        for statement in node.body:
            self.visit(statement)
        self.type_checking_depth -= 1
        for statement in node.orelse:
            self.visit(statement)


def collect_imports(modules: list[Module]) -> list[Import]:
    known = {module.name for module in modules}
    imports = []
    for module in modules:
        collector = _Collector(module, known)
        collector.visit(ast.parse(module.source, module.path))
        imports.extend(collector.imports)
    return imports


def _glance_edges(imports: list[Import]) -> dict[str, dict[str, Import]]:
    """source -> target -> the first import making that edge."""
    edges: dict[str, dict[str, Import]] = {}
    for imp in imports:
        if imp.is_glance and imp.target != imp.source:
            edges.setdefault(imp.source, {}).setdefault(imp.target, imp)
    return edges


def _reachable(start: str, edges: dict[str, dict[str, Import]]) -> set[str]:
    seen: set[str] = set()
    queue = deque([start])
    while queue:
        for child in edges.get(queue.popleft(), {}):
            if child not in seen:
                seen.add(child)
                queue.append(child)
    return seen


def _components(edges: dict[str, dict[str, Import]]) -> list[list[str]]:
    """The sets of modules that all reach each other (strongly connected
    components) with more than one module; a few hundred modules, so by brute force."""
    nodes = sorted(set(edges) | {target for targets in edges.values() for target in targets})
    reach = {node: _reachable(node, edges) for node in nodes}
    found: list[list[str]] = []
    placed: set[str] = set()
    for node in nodes:
        if node in placed:
            continue
        component = sorted({node} | {other for other in reach[node] if node in reach[other]})
        placed.update(component)
        if len(component) > 1:
            found.append(component)
    return found


def _shortest_path(start: str, goal: str, members: set[str],
                   edges: dict[str, dict[str, Import]]) -> list[str]:
    """The shortest path start -> ... -> goal inside one component."""
    previous: dict[str, str] = {start: start}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        if node == goal:
            path = [goal]
            while path[-1] != start:
                path.append(previous[path[-1]])
            return path[::-1]
        for child in sorted(edges.get(node, {})):
            if child in members and child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"no path {start} -> {goal} inside a component")


def _describe(imp: Import) -> str:
    kind = (" in a function" if imp.in_function else "") + (
        " under TYPE_CHECKING" if imp.type_checking else "")
    return f"{imp.where}{kind}"


def find_cycles(imports: list[Import]) -> list[str]:
    """Import cycles as chains, ``a -> b (where) -> a (where)``: for each set of
    modules that import each other, the modules, then for each import between two
    of them the shortest cycle through it (so every import to break is shown)."""
    edges = _glance_edges(imports)
    reports: list[str] = []
    for component in _components(edges):
        members = set(component)
        reports.append("modules in a cycle: " + ", ".join(component))
        seen: set[tuple[str, ...]] = set()
        for source in component:
            for target in sorted(set(edges[source]) & members):
                ring = [source, *_shortest_path(target, source, members, edges)[:-1]]
                turn = ring.index(min(ring))
                key = tuple(ring[turn:] + ring[:turn])
                if key in seen:
                    continue
                seen.add(key)
                chain = [key[0]]
                for a, b in zip(key, key[1:] + key[:1], strict=True):
                    chain.append(f"{b} ({_describe(edges[a][b])})")
                reports.append("  " + " -> ".join(chain))
    return reports


def find_function_imports(imports: list[Import]) -> list[str]:
    """Imports inside functions of anything but an optional third-party package."""
    return [f"{imp.where} imports {imp.target} inside a function"
            + ("" if imp.is_glance else " (not in OPTIONAL_IMPORTS)")
            for imp in imports
            if imp.in_function and imp.target not in OPTIONAL_IMPORTS]


def layer_of(name: str, layers: dict[str, int] = LAYERS) -> int | None:
    """The layer of the longest key that is ``name`` or a package above it; the
    top-level ``glance`` key is the package's ``__init__`` only, not a default."""
    parts = name.split(".")
    while len(parts) > 1:
        layer = layers.get(".".join(parts))
        if layer is not None:
            return layer
        parts.pop()
    return layers.get(name)


def _layer(layer: int) -> str:
    return f"layer {layer} {LAYER_NAMES.get(layer, '?')}"


def find_upward_imports(imports: list[Import], layers: dict[str, int] = LAYERS) -> list[str]:
    reports = []
    for imp in imports:
        if not imp.is_glance:
            continue
        source, target = layer_of(imp.source, layers), layer_of(imp.target, layers)
        if source is None or target is None:
            continue  # find_unlayered reports them
        if target > source:
            reports.append(f"{imp.where} imports {imp.target} ({_layer(target)}) "
                           f"from {_layer(source)}")
    return reports


def find_unlayered(modules: list[Module], layers: dict[str, int] = LAYERS) -> list[str]:
    return [f"{module.path}: {module.name} has no layer in LAYERS"
            for module in modules if layer_of(module.name, layers) is None]


def find_http_imports(imports: list[Import],
                      allowed: dict[str, tuple[str, ...]] = HTTP_LIBRARIES) -> list[str]:
    reports = []
    for imp in imports:
        packages = allowed.get(imp.target)
        if packages is None:
            continue
        if not any(imp.source == p or imp.source.startswith(p + ".") for p in packages):
            reports.append(f"{imp.where} imports {imp.target}, allowed only under "
                           + ", ".join(p.replace(".", "/") + "/" for p in packages))
    return reports


# What glance/api may import from glance/db: the public interface of the package
# (query types, error classification, the health query, adoption and migration for
# start-up), never a repository module.
PUBLIC_DB_MODULES = ("glance.db", "glance.db.queries", "glance.db.errors",
                     "glance.db.health", "glance.db.adoption", "glance.db.migration")
# Start-up wiring that configures or disposes of the engine itself.
DB_WIRING = {"glance.api.app": ("glance.db.sqlalchemy.engine",)}


def find_private_db_imports(imports: list[Import], package: str = "glance.api",
                            public: tuple[str, ...] = PUBLIC_DB_MODULES,
                            wiring: dict[str, tuple[str, ...]] = DB_WIRING) -> list[str]:
    """Imports of a glance/db module outside its public interface from ``package``."""
    reports = []
    for imp in imports:
        if not (imp.source == package or imp.source.startswith(package + ".")):
            continue
        if not imp.target.startswith("glance.db"):
            continue
        if imp.target in public or imp.target in wiring.get(imp.source, ()):
            continue
        reports.append(f"{imp.where} imports {imp.target}; glance/api uses only "
                       + ", ".join(public[1:]))
    return reports


def find_long_modules(modules: list[Module], limit: int = MAX_LINES) -> list[str]:
    return [f"{module.path}: {len(module.source.splitlines())} lines (at most {limit})"
            for module in modules if len(module.source.splitlines()) > limit]


def find_unmirrored_tests(test_files: list[str], modules: list[Module],
                          exceptions: dict[str, str] = UNMIRRORED_TESTS) -> list[str]:
    """Test files (paths under tests/unit) whose glance module does not exist."""
    names = {module.name for module in modules}
    reports = []
    for path in test_files:
        *folders, filename = path.split("/")
        if path in exceptions:
            continue
        if not filename.startswith("test_"):
            reports.append(f"tests/unit/{path}: not a test module (test_*.py)")
            continue
        module = ".".join(["glance", *folders, filename[len("test_"):-len(".py")]])
        if module not in names:
            reports.append(f"tests/unit/{path}: glance has no module or package {module} "
                           "(move the file, or list it in UNMIRRORED_TESTS)")
    return reports


def _unit_test_files() -> list[str]:
    unit = ROOT / "tests" / "unit"
    return sorted(path.relative_to(unit).as_posix() for path in unit.rglob("*.py")
                  if path.name not in ("__init__.py", "conftest.py"))


def find_role_checks(modules: list[Module]) -> list[str]:
    """``"name" in x.roles`` (or ``not in``): a role tested by name."""
    reports = []
    for module in modules:
        for node in ast.walk(ast.parse(module.source, module.path)):
            if not (isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant)
                    and isinstance(node.left.value, str)
                    and any(isinstance(op, ast.In | ast.NotIn) for op in node.ops)):
                continue
            if any(isinstance(part, ast.Attribute) and part.attr == "roles"
                   for comparator in node.comparators for part in ast.walk(comparator)):
                reports.append(f"{module.path}:{node.lineno} tests the role "
                               f"{node.left.value!r} by name (make it a policy rule)")
    return reports


def find_controller_catches(modules: list[Module], package: str = "glance.api.v2"
                            ) -> list[str]:
    """``except exception.X`` (glance/exception.py's classes) in the controllers."""
    reports = []
    for module in modules:
        if not (module.name == package or module.name.startswith(package + ".")):
            continue
        for node in ast.walk(ast.parse(module.source, module.path)):
            if not isinstance(node, ast.ExceptHandler) or node.type is None:
                continue
            caught = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
            for kind in caught:
                if (isinstance(kind, ast.Attribute) and isinstance(kind.value, ast.Name)
                        and kind.value.id == "exception"):
                    reports.append(f"{module.path}:{node.lineno} catches exception."
                                   f"{kind.attr} (leave it to the fault layer)")
    return reports


def find_socket_timeouts(modules: list[Module], allowed: str = "glance.cmd") -> list[str]:
    """Calls of ``settimeout`` / ``setdefaulttimeout`` outside ``allowed``."""
    reports = []
    for module in modules:
        if module.name == allowed or module.name.startswith(allowed + "."):
            continue
        for node in ast.walk(ast.parse(module.source, module.path)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("settimeout", "setdefaulttimeout")):
                reports.append(f"{module.path}:{node.lineno} sets a socket timeout "
                               f"({node.func.attr}); only {allowed.replace('.', '/')}/ does")
    return reports


MODULES = load_package(ROOT / "glance")
IMPORTS = collect_imports(MODULES)


def _fail(title: str, reports: list[str]) -> None:
    assert not reports, title + ":\n  " + "\n  ".join(reports)


def test_no_import_cycles():
    _fail("import cycles among glance modules", find_cycles(IMPORTS))


def test_no_imports_inside_functions():
    _fail("imports inside functions (import at the top of the module)",
          find_function_imports(IMPORTS))


def test_every_module_has_a_layer():
    _fail("modules missing from LAYERS in tests/unit/test_house_rules.py",
          find_unlayered(MODULES))


def test_imports_point_down_the_layers():
    _fail("imports of a higher layer", find_upward_imports(IMPORTS))


def test_http_libraries_only_under_api():
    _fail("HTTP libraries imported outside glance/api", find_http_imports(IMPORTS))


def test_api_uses_only_the_public_db_interface():
    _fail("glance/api importing repository modules", find_private_db_imports(IMPORTS))


def test_modules_are_short():
    _fail("modules over the line limit (split them)", find_long_modules(MODULES))


def test_controllers_do_not_catch_glance_errors():
    _fail("controllers catching glance exceptions", find_controller_catches(MODULES))


# Role tests that are not a policy rule in OpenStack Glance either: operators cannot
# change them there, so a policy rule here would be a difference, not a fix.
ROLE_CHECKS_ALLOWED = {
    # Glance 33's add-location API lets only the 'service' role (Nova, Cinder) name
    # non-http URLs, tested by name in its controller.
    "glance/services/location_patch.py": "'service'",
}


def test_no_role_names_in_code():
    _fail("role names tested in code",
          [report for report in find_role_checks(MODULES)
           if ROLE_CHECKS_ALLOWED.get(report.split(":", 1)[0]) not in report])


def test_socket_timeouts_only_in_the_server():
    _fail("socket timeouts set outside glance/cmd", find_socket_timeouts(MODULES))


def test_unit_tests_mirror_the_package():
    _fail("tests/unit files that do not mirror glance/",
          find_unmirrored_tests(_unit_test_files(), MODULES))


def test_unmirrored_tests_exist():
    files = set(_unit_test_files())
    assert [name for name in UNMIRRORED_TESTS if name not in files] == []


def test_collector_sees_the_tree():
    names = {module.name for module in MODULES}
    assert {"glance", "glance.api.v2.images", "glance.db.sqlalchemy.api"} <= names
    targets = {(imp.source, imp.target) for imp in IMPORTS}
    assert ("glance.api.v2.router", "glance.api.wsgi") in targets


# The checkers on synthetic trees: each rule reports what breaks it.

def _tree(**sources: str) -> list[Module]:
    """Modules from keyword arguments: ``glance__db__api="..."`` is glance/db/api.py;
    a name ending in ``__init`` is a package."""
    modules = []
    for key, source in sources.items():
        parts = key.split("__")
        is_package = parts[-1] == "init"
        path = "/".join(parts[:-1] + ["__init__"] if is_package else parts) + ".py"
        name = ".".join(parts[:-1] if is_package else parts)
        modules.append(Module(name, path, source, is_package))
    return modules


def test_checker_resolves_imports():
    modules = _tree(glance__init="", glance__db__init="", glance__db__api="",
                    glance__db__models="",
                    glance__services__init="", glance__services__images=(
                        "from glance.db import api\n"
                        "from ..db.models import Base\n"
                        "from . import tasks\n"
                        "import glance.db.api.thing\n"
                        "from glance import db\n"),
                    glance__services__tasks="")
    targets = [(imp.target, imp.line) for imp in collect_imports(modules)]
    assert targets == [("glance.db.api", 1), ("glance.db.models", 2),
                       ("glance.services.tasks", 3), ("glance.db.api", 4), ("glance.db", 5)]


def test_checker_reports_a_cycle():
    modules = _tree(glance__init="", glance__a="import glance.b\n",
                    glance__b="def f():\n    from glance import c\n",
                    glance__c="from typing import TYPE_CHECKING\n"
                              "if TYPE_CHECKING:\n    from glance import a\n",
                    glance__d="import glance.a\n")
    assert find_cycles(collect_imports(modules)) == [
        "modules in a cycle: glance.a, glance.b, glance.c",
        "  glance.a -> glance.b (glance/a.py:1) -> glance.c (glance/b.py:2 in a function)"
        " -> glance.a (glance/c.py:3 under TYPE_CHECKING)"]


def test_checker_reports_each_cycle_of_a_component():
    modules = _tree(glance__init="", glance__a="import glance.b\nimport glance.c\n",
                    glance__b="import glance.a\n", glance__c="import glance.a\n")
    assert find_cycles(collect_imports(modules)) == [
        "modules in a cycle: glance.a, glance.b, glance.c",
        "  glance.a -> glance.b (glance/a.py:1) -> glance.a (glance/b.py:1)",
        "  glance.a -> glance.c (glance/a.py:2) -> glance.a (glance/c.py:1)"]


def test_checker_reports_a_repository_import_from_the_api():
    modules = _tree(glance__init="", glance__api__init="", glance__db__init="",
                    glance__db__queries="", glance__db__sqlalchemy__init="",
                    glance__db__sqlalchemy__api="",
                    glance__api__v2=("from glance.db.queries import ImageQuery\n"
                                     "from glance.db.sqlalchemy import api\n"),
                    glance__services__x="from glance.db.sqlalchemy import api\n")
    assert find_private_db_imports(collect_imports(modules)) == [
        "glance/api/v2.py:2 imports glance.db.sqlalchemy.api; glance/api uses only "
        "glance.db.queries, glance.db.errors, glance.db.health, glance.db.adoption, "
        "glance.db.migration"]


def test_checker_accepts_no_cycle():
    modules = _tree(glance__init="", glance__a="import glance.b\n", glance__b="import os\n")
    assert find_cycles(collect_imports(modules)) == []


def test_checker_reports_function_imports():
    modules = _tree(glance__init="", glance__b="", glance__a=(
        "import os\n"
        "class A:\n"
        "    import json\n"
        "    def f(self):\n"
        "        from glance import b\n"
        "        import uwsgi\n"
        "        import yaml\n"))
    assert find_function_imports(collect_imports(modules)) == [
        "glance/a.py:5 imports glance.b inside a function",
        "glance/a.py:7 imports yaml inside a function (not in OPTIONAL_IMPORTS)"]


def test_checker_reports_an_upward_import():
    modules = _tree(glance__init="", glance__db__init="", glance__db__api=(
        "from glance.services import images\n"
        "from glance import exception\n"),
        glance__services__init="", glance__services__images="", glance__exception="")
    assert find_upward_imports(collect_imports(modules)) == [
        "glance/db/api.py:1 imports glance.services.images (layer 3 services)"
        " from layer 2 infrastructure"]


def test_checker_reports_a_module_without_layer():
    modules = _tree(glance__init="", glance__newthing="")
    assert find_unlayered(modules) == [
        "glance/newthing.py: glance.newthing has no layer in LAYERS"]


def test_checker_reports_webob_outside_api():
    modules = _tree(glance__init="", glance__db__init="import webob.exc\n",
                    glance__api__init="", glance__api__faults="import webob\n",
                    glance__cmd__init="", glance__cmd__x="from routes import Mapper\n")
    assert find_http_imports(collect_imports(modules)) == [
        "glance/db/__init__.py:1 imports webob, allowed only under glance/api/",
        "glance/cmd/x.py:1 imports routes, allowed only under glance/api/"]


def test_checker_reports_a_long_module():
    modules = _tree(glance__init="", glance__big="x = 1\n" * 3, glance__small="x = 1\n")
    assert find_long_modules(modules, limit=2) == ["glance/big.py: 3 lines (at most 2)"]


def test_checker_reports_a_test_file_without_its_module():
    modules = _tree(glance__init="", glance__api__init="", glance__api__faults="",
                    glance__quota="")
    files = ["api/test_faults.py", "test_quota.py", "test_api.py", "test_faults.py",
             "api/v2/test_images.py", "api/helpers.py", "test_cross.py"]
    assert find_unmirrored_tests(files, modules, exceptions={"test_cross.py": "why"}) == [
        "tests/unit/test_faults.py: glance has no module or package glance.faults"
        " (move the file, or list it in UNMIRRORED_TESTS)",
        "tests/unit/api/v2/test_images.py: glance has no module or package"
        " glance.api.v2.images (move the file, or list it in UNMIRRORED_TESTS)",
        "tests/unit/api/helpers.py: not a test module (test_*.py)"]


def test_checker_reports_a_role_tested_by_name():
    modules = _tree(glance__init="", glance__a=(
        "def f(context):\n"
        "    if 'service' in (context.roles or []):\n"
        "        return 'admin' not in context.roles\n"
        "    return 'x' in context.names or context.is_admin\n"))
    assert find_role_checks(modules) == [
        "glance/a.py:2 tests the role 'service' by name (make it a policy rule)",
        "glance/a.py:3 tests the role 'admin' by name (make it a policy rule)"]


def test_checker_reports_a_socket_timeout_outside_the_server():
    modules = _tree(glance__init="", glance__cmd__init="",
                    glance__cmd__worker="def f(sock):\n    sock.settimeout(3)\n",
                    glance__api__init="", glance__api__wsgi=(
                        "import socket\nsocket.setdefaulttimeout(5)\n"))
    assert find_socket_timeouts(modules) == [
        "glance/api/wsgi.py:2 sets a socket timeout (setdefaulttimeout); only glance/cmd/ does"]


def test_checker_reports_a_controller_catching_a_glance_error():
    modules = _tree(glance__init="", glance__api__init="", glance__api__v2__init="",
                    glance__api__v2__images=(
                        "try:\n    pass\nexcept exception.Forbidden:\n    pass\n"
                        "try:\n    pass\nexcept (ValueError, exception.NotFound):\n    pass\n"
                        "try:\n    pass\nexcept ValueError:\n    pass\n"),
                    glance__services__init="", glance__services__x=(
                        "try:\n    pass\nexcept exception.Forbidden:\n    pass\n"))
    assert find_controller_catches(modules) == [
        "glance/api/v2/images.py:3 catches exception.Forbidden (leave it to the fault layer)",
        "glance/api/v2/images.py:7 catches exception.NotFound (leave it to the fault layer)"]
