"""Run every example in this folder and show what each prints."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).parent
#: The spec's sections in its order; any other example runs after them.
ORDER = [
    "quickstart.py",
    "tagging.py",
    "invalidation.py",
    "warming.py",
    "policies.py",
    "statistics.py",
    "swr.py",
    "integration.py",
]


def main() -> int:
    """Run each example in turn; return 1 if any failed."""
    failed = []
    found = {p.name: p for p in HERE.glob("*.py") if p.name != "run_all.py"}
    names = [n for n in ORDER if n in found] + sorted(set(found) - set(ORDER))
    for path in (found[n] for n in names):
        print(f"\n=== {path.name}: {(path.read_text().split(chr(10))[0]).strip(chr(34))}")
        try:
            runpy.run_path(str(path), run_name="__main__")
        except Exception as exc:  # report and go on: one broken example hides no other
            print(f"!!! {path.name} failed: {exc!r}")
            failed.append(path.name)
    print(f"\n{len(failed)} example(s) failed" if failed else "\nall examples ran")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
