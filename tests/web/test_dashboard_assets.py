"""The charting library the dashboard serves ships in the wheel, with its license."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UPLOT = "cache/web/static/uplot/"


def test_the_wheel_ships_uplot_with_its_license_and_version(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        note = archive.read(UPLOT + "VERSION").decode()
        license_text = archive.read(UPLOT + "LICENSE").decode()
    assert {UPLOT + n for n in ("uPlot.iife.min.js", "uPlot.min.css")} <= names
    assert "uPlot 1.6.32" in note and "MIT License" in license_text
