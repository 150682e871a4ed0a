"""The import rule (mockserver/ARCHITECTURE.md) holds: import-linter's contracts, no cycle."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]

# Imports that other branches remove (see [tool.importlinter] in pyproject.toml): a cycle
# through one of them is known; any other cycle fails.
KNOWN: set[tuple[str, str]] = set()  # imports that form a cycle until another change removes them


def _lint_imports() -> str:
    found = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert found, "import-linter is in the test extra: pip install -e '.[test]'"
    return found


def test_the_import_contracts_are_kept() -> None:
    """Run as a separate process, as CI would: a broken contract fails this test."""
    done = subprocess.run(
        [_lint_imports(), "--no-cache", "--no-logo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    # Every import statement counts: at the top, inside a function, under TYPE_CHECKING.
    return grimp.build_graph("mockserver", include_external_packages=False, cache_dir=None)


def test_no_module_of_mockserver_is_in_an_import_cycle(graph: grimp.ImportGraph) -> None:
    for importer, imported in KNOWN:
        assert graph.direct_import_exists(importer=importer, imported=imported), (
            f"{importer} no longer imports {imported}: remove it from KNOWN and from "
            "[tool.importlinter]'s ignore_imports"
        )
        graph.remove_import(importer=importer, imported=imported)
    cycles = []
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is not None:
                cycles.append(" -> ".join((module, *back)))
    assert cycles == []


def test_no_import_inside_a_function_except_the_lazy_ones(graph: grimp.ImportGraph) -> None:
    """An import inside a function is there to put off a costly or optional import, never to
    dodge a cycle: these are the ones that stay, each for a reason (ARCHITECTURE.md)."""
    lazy = {
        ("mockserver.cli", "mockserver.drift"),  # pulls in Schemathesis: `check` only
        ("mockserver.cli", "mockserver.requestlog"),  # `serve --log requests` only
        ("mockserver.cli", "mockserver.wsgi"),  # `serve` only
        ("mockserver.drift", "mockserver.providers"),  # `check` with a provider's profile only
        ("mockserver.drift", "mockserver.spec"),
        ("mockserver.wsgi", "mockserver.requestlog"),  # `serve --log requests` only
    }
    inside = set()
    for module in graph.modules:
        source = _source(module)
        for imported in graph.find_modules_directly_imported_by(module):
            details = graph.get_import_details(importer=module, imported=imported)
            for detail in details:
                at = detail["line_number"] - 1
                if source[at].startswith((" ", "\t")) and not _under_type_checking(source, at):
                    inside.add((module, imported))
    assert inside == lazy


def _source(module: str) -> list[str]:
    path = ROOT.joinpath(*module.split("."))
    file = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    return file.read_text().splitlines()


def _under_type_checking(source: list[str], at: int) -> bool:
    # An indented import is inside a function unless the block it sits in opens with
    # `if TYPE_CHECKING:` (those are type-only; the cycle test above counts them too).
    while at > 0 and source[at].startswith((" ", "\t")):
        at -= 1
    return source[at].startswith("if TYPE_CHECKING")
