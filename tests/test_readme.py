"""The README and the docs say only what works: runnable examples run, links resolve.

Convention: a ```bash block right after a `<!-- runnable -->` line is an example a reader can
paste as it is. The blocks of one document run in order, in one bash (`set -euo pipefail`, so a
variable set in one block is there in the next), against a fresh `mockserver serve` with the
default fixtures; `127.0.0.1:4010` and `localhost:4010` become that server's address. Every
`curl` in such a block must fail on an HTTP error (`-f`), or write the status
(`-w '%{http_code}'`) for the block to compare (`test "$(curl ...)" = 409`), so an answer the
example did not expect fails the test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mockserver.testing import running_server

ROOT = Path(__file__).resolve().parents[1]
MARK = "<!-- runnable -->"
# Docs that other branches publish; the README links them ahead of the merge.
PENDING: set[str] = set()  # docs linked before the branch that writes them has landed
USER_DOCS = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").rglob("*.md")),
    ROOT / "bench" / "README.md",
]


def runnable_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number, code) of each ```bash block that follows a runnable mark."""
    lines = path.read_text().splitlines()
    blocks: list[tuple[int, str]] = []
    marked = False
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line == MARK:
            marked = True
        elif line.startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            if marked:
                assert line == "```bash", f"{path.name}:{i + 1}: a runnable block must be bash"
                blocks.append((i + 2, "\n".join(lines[i + 1 : end])))
            marked = False
            i = end
        elif line:
            marked = False
        i += 1
    return blocks


def curls_without_fail(code: str) -> list[str]:
    """The curl commands of a block that would not fail on an HTTP error status."""
    joined = code.replace("\\\n", " ")
    found = []
    for match in re.finditer(r"(?:^|[\s;|&($])curl\s+([^\n|;)]*)", joined, re.M):
        words = match.group(1).split("#")[0].split()
        fails = any(
            w == "--fail" or (w.startswith("-") and not w.startswith("--") and "f" in w[1:])
            for w in words
        ) or "%{http_code}" in match.group(1)
        if not fails:
            found.append("curl " + match.group(1).strip())
    return found


RUNNABLE = [p for p in USER_DOCS if runnable_blocks(p)]


def test_the_readme_and_each_provider_page_have_runnable_examples() -> None:
    names = {str(p.relative_to(ROOT)) for p in RUNNABLE}
    expected = {"README.md"} | {
        f"docs/providers/{name}.md" for name in ("api1", "finqware", "yapily", "atto", "fliqa")
    }
    assert expected <= names, f"no runnable block in {sorted(expected - names)}"


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_curl_of_a_runnable_block_fails_on_an_http_error(path: Path) -> None:
    lax = [c for _, code in runnable_blocks(path) for c in curls_without_fail(code)]
    assert not lax, "use curl -f (or move the example out of the runnable block):\n" + "\n".join(
        lax
    )


@pytest.mark.parametrize("path", RUNNABLE, ids=lambda p: str(p.relative_to(ROOT)))
def test_runnable_examples_run_as_written(path: Path) -> None:
    blocks = runnable_blocks(path)
    with running_server([]) as server:
        address = server.base_url.removeprefix("http://")
        parts = ["set -euo pipefail", "shopt -s inherit_errexit"]
        for line, code in blocks:
            parts.append(f"echo '@@ {path.name}:{line}' >&2")
            parts.append(re.sub(r"(127\.0\.0\.1|localhost):4010", address, code))
        script = "\n".join(parts) + "\n"
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    where = [m for m in done.stderr.splitlines() if m.startswith("@@ ")]
    assert done.returncode == 0, (
        f"exit {done.returncode} in the block at {where[-1][3:] if where else '?'}\n"
        f"--- stdout (tail)\n{done.stdout[-3000:]}\n--- stderr (tail)\n{done.stderr[-3000:]}"
    )


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def test_links_between_the_docs_resolve() -> None:
    broken = []
    for path in USER_DOCS:
        for target in LINK.findall(path.read_text()):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            file = (path.parent / target.split("#")[0]).resolve()
            name = str(file.relative_to(ROOT)) if file.is_relative_to(ROOT) else str(file)
            if not file.exists() and name not in PENDING:
                broken.append(f"{path.relative_to(ROOT)}: {target}")
    assert not broken, "links to files that do not exist:\n" + "\n".join(broken)


def test_the_readme_stays_short() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 450


def test_the_readme_fliqa_receiver_snippet_verifies_the_simulator_signature() -> None:
    from datetime import UTC, datetime

    from mockserver.providers.fliqa.signature import HEADER, sign

    text = (ROOT / "README.md").read_text()
    snippet = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "fliqa_sig" in b)
    namespace: dict[str, object] = {}
    exec(snippet, namespace)  # noqa: S102 - the README's own code, run as a reader would
    verify = namespace["fliqa_signature_ok"]
    assert callable(verify)
    body, url = b'{"consentId": "c1"}', "https://example.com/hooks/fliqa/"
    header = sign(body, url, "my-secret", None, datetime(2026, 11, 23, tzinfo=UTC))[HEADER]
    assert verify(header, body, url, "my-secret")
    assert not verify(header, body, url, "another-secret")
    assert not verify(header, body + b" ", url, "my-secret")
