"""The wheel ships the package alone: no demo app, no tests, no data beside ``cache/``."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import cache

ROOT = Path(__file__).resolve().parents[1]


def test_the_wheel_holds_only_the_package(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=120,
        env={k: v for k, v in os.environ.items() if k != "TAGCACHE_COMPILE"},
    )
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    # Distributed as tagcache (the name cache is taken on PyPI), imported as cache.
    assert tops == {"cache", f"tagcache-{cache.__version__}.dist-info"}
    assert {
        "cache/py.typed",
        "cache/web/dashboard.html",
        "cache/web/stored.py",
        "cache/web/rfc9111/decide.py",
        "cache/web/static/uplot/uPlot.iife.min.js",
        "cache/web/static/uplot/uPlot.min.css",
    } <= set(names)
    # The dashboard's charting library is served from the wheel, with its license and version.
    with zipfile.ZipFile(wheel) as archive:
        assert "uPlot 1.6.32" in archive.read("cache/web/static/uplot/VERSION").decode()
        assert "MIT License" in archive.read("cache/web/static/uplot/LICENSE").decode()
    assert not [n for n in names if "/demo/" in n or "/tests/" in n or "__pycache__" in n]
    # Pure Python unless TAGCACHE_COMPILE=1 asks for the compiled core (hatch_build.py).
    assert wheel.name.endswith("-py3-none-any.whl")
    assert not [n for n in names if n.endswith((".so", ".pyd", ".c"))]
