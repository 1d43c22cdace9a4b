"""Every script in examples/ runs against the public API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_all_examples_run() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "run_all.py")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all examples ran" in result.stdout
    for name in (
        "tagging",
        "invalidation",
        "warming",
        "policies",
        "statistics",
        "swr",
        "integration",
    ):
        assert f"=== {name}.py" in result.stdout
