"""The demo site: a blog behind the cache, with a live dashboard.

scripts/demo [--port 8000] [--cache redis://localhost:6379/0 --workers 4] (or python -m demo)
"""

from demo.app import Demo, create_app

__all__ = ["Demo", "create_app"]
