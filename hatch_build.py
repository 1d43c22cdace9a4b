"""Build hook: with ``TAGCACHE_COMPILE=1``, the wheel carries InMemoryCache's compiled core.

    TAGCACHE_COMPILE=1 pip install --no-binary tagcache tagcache   # or: pip wheel .

compiles ``src/cache/backend/memory/_core.py`` with mypyc (from mypy, which
pip installs into the build environment only then, with setuptools) into two
extension modules that go in the wheel beside the ``.py`` they were built
from; the wheel is then tagged for this Python and platform. It needs a C
compiler and the Python headers (Debian: ``gcc python3-dev``). Without the
variable (the default) nothing is compiled, nothing more is installed to build,
and the wheel is pure Python. An editable install (``pip install -e``) is
never compiled.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

CORE = "cache/backend/memory/_core.py"


def _wanted() -> bool:
    return os.environ.get("TAGCACHE_COMPILE", "") not in ("", "0")


class CompiledCoreHook(BuildHookInterface):  # type: ignore[type-arg]
    """Compile the core with mypyc when ``TAGCACHE_COMPILE`` asks for it."""

    PLUGIN_NAME = "custom"

    def dependencies(self) -> list[str]:
        """Return what compiling needs in the build environment (nothing unless asked)."""
        return ["mypy>=1.10", "setuptools>=61"] if _wanted() else []

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        """Compile into a scratch copy of the sources; put the extension modules in the wheel."""
        if self.target_name != "wheel" or version == "editable" or not _wanted():
            return
        scratch = Path(tempfile.mkdtemp(prefix="tagcache-mypyc-"))
        self._scratch = scratch  # removed in finalize
        shutil.copytree(Path(self.root, "src", "cache"), scratch / "cache")
        # Only _core is compiled; the modules it imports are read for their types, and
        # their own imports (sortedcontainers, msgpack...) need no stubs here.
        command = ["-m", "mypyc", "--follow-imports=silent", "--ignore-missing-imports", CORE]
        done = subprocess.run(
            [sys.executable, *command], cwd=scratch, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            shutil.rmtree(scratch, ignore_errors=True)
            raise RuntimeError(f"mypyc failed to compile {CORE}:\n{done.stdout}\n{done.stderr}")
        built = sorted((scratch / "cache/backend/memory").glob("_core*.so")) + sorted(
            (scratch / "cache/backend/memory").glob("_core*.pyd")
        )
        if not built:
            raise RuntimeError(f"mypyc made no extension module from {CORE}:\n{done.stdout}")
        for path in built:
            build_data["force_include"][str(path)] = f"cache/backend/memory/{path.name}"
        build_data["pure_python"] = False
        build_data["infer_tag"] = True

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        """Remove the scratch copy."""
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
