"""Every Python block of README.md and docs/ runs, and the API reference links instead of roles.

The blocks of one page run in order in one namespace, as a reader would type
them (Sybil parses the Markdown). A block that cannot run here says so in the
page, with its reason: ``<!-- skip: next "needs a Redis cluster" -->``; a
page may set things up out of sight with ``<!-- invisible-code-block: python
... -->``. Blocks may ``await`` at the top level, as in an asyncio REPL.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import os
import re
import subprocess
import sys
import types
from pathlib import Path
from unittest import SkipTest

import pytest
from sybil import Example, Sybil
from sybil.parsers.markdown import CodeBlockParser, SkipParser

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])


def _evaluate(example: Example) -> None:
    """Run one block; a block with a top-level ``await`` runs in an event loop."""
    source = "\n" * (example.line + example.parsed.line_offset) + example.parsed
    code = compile(
        source, example.path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True
    )
    if code.co_flags & inspect.CO_COROUTINE:
        asyncio.run(types.FunctionType(code, example.namespace)())
    else:
        exec(code, example.namespace)
    example.namespace.pop("__builtins__", None)


SYBIL = Sybil(
    parsers=[CodeBlockParser(language="python", evaluator=_evaluate), SkipParser()],
    name="docs",
)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_python_block_runs(page: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("CACHE_URL", raising=False)
    document = SYBIL.parse(page)
    skipped: list[str] = []
    for example in document:
        try:
            example.evaluate()
        except SkipTest as reason:
            skipped.append(f"line {example.line}: {reason}")
    for name in ("fence", "warmer"):  # what a page left running stops with it
        value = document.namespace.get(name)
        if hasattr(value, "stop"):
            value.stop()
    assert all(": " in s and s.split(": ", 1)[1] for s in skipped), "a skip names its reason"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_are_labelled_python(page: Path) -> None:
    # Another label (py, python3, pycon) would escape the test above.
    labels = re.findall(r"^\s*```\s*([\w+-]*)", page.read_text(), flags=re.M)
    assert not {"py", "python3", "pycon", "py3"} & set(labels), page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built as the test command builds it (strict)."""
    folder = tmp_path_factory.mktemp("site")
    built = subprocess.run(
        [Path(sys.executable).with_name("mkdocs"), "build", "--strict", "--site-dir", folder],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        timeout=120,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return folder


def test_the_api_reference_links_instead_of_showing_sphinx_roles(site: Path) -> None:
    reference = (site / "reference" / "index.html").read_text()
    assert not re.search(r":(class|meth|func|mod|attr|data|exc|obj):(`|<code>)", reference)
    # :class:`~cache.backend.InMemoryCache` is a link to the class's section.
    links = re.findall(r'<a class="autorefs autorefs-internal"[^>]*href="([^"]+)"', reference)
    assert "#cache.backend.memory.InMemoryCache" in links
    assert len(links) > 100
    assert not (site / "_ext").exists()  # the build's own extension is not published


def test_no_code_block_runs_off_a_1280_pixel_screen(site: Path) -> None:
    from playwright.sync_api import sync_playwright

    pages = sorted(p for p in site.rglob("index.html") if "search" not in p.parts)
    assert len(pages) >= len(PAGES) - 2  # README.md is not a page; 404 has no index
    cut: dict[str, int] = {}
    seen = 0
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", args=["--headless", "--no-sandbox"]
        )
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 800})
            for page in pages:
                tab.goto(page.as_uri())
                seen += tab.locator(".md-content pre > code").count()
                wide = tab.evaluate(
                    "[...document.querySelectorAll('.md-content pre > code')]"
                    ".filter(c => c.scrollWidth > c.clientWidth + 1).length"
                )
                if wide:
                    cut[str(page.relative_to(site))] = wide
        finally:
            browser.close()
    assert seen > 30
    assert cut == {}, f"code blocks wider than the page at 1280 px: {cut}"
