"""The demo site: a blog behind the cache, with a live dashboard.

python -m demo [--port 8000] [--redis redis://localhost:6379/0 --workers 4]
"""

from demo.app import Demo, create_app

__all__ = ["Demo", "create_app"]
