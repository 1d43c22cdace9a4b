"""The demo's data: a small blog in SQLite, every query slowed down on purpose."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["Blog"]

_AUTHORS = ["Ada Lovelace", "Grace Hopper", "Edsger Dijkstra"]
_TOPICS = ["caching", "queues", "compilers", "testing", "latency", "indexes", "schedulers"]


class Blog:
    """Authors and posts; each query sleeps ``latency`` seconds, like a busy database."""

    def __init__(self, path: Path | str, latency: float = 0.05) -> None:
        self.latency = latency
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        with self._lock:
            self._db.executescript(
                """
                CREATE TABLE IF NOT EXISTS authors (id INTEGER PRIMARY KEY, name TEXT);
                CREATE TABLE IF NOT EXISTS posts (
                    id INTEGER PRIMARY KEY, author_id INTEGER, title TEXT, body TEXT,
                    views INTEGER DEFAULT 0, updated REAL);
                """
            )
            if not self._db.execute("SELECT COUNT(*) FROM authors").fetchone()[0]:
                self._seed()

    def _seed(self) -> None:
        for i, name in enumerate(_AUTHORS, 1):
            self._db.execute("INSERT INTO authors VALUES (?, ?)", (i, name))
        for n in range(1, 31):
            topic = _TOPICS[n % len(_TOPICS)]
            self._db.execute(
                "INSERT INTO posts (id, author_id, title, body, views, updated) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (
                    n,
                    n % 3 + 1,
                    f"Notes on {topic}, part {n}",
                    f"A post about {topic}. " * 20,
                    (31 - n) * 10,
                    time.time(),
                ),
            )
        self._db.commit()

    def _query(self, sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        time.sleep(self.latency)  # the deliberate cost the cache saves
        with self._lock:
            return [dict(row) for row in self._db.execute(sql, args).fetchall()]

    def post(self, post_id: int) -> dict[str, Any] | None:
        """Return one post with its author's name."""
        rows = self._query(
            "SELECT p.*, a.name AS author FROM posts p JOIN authors a ON a.id = p.author_id "
            "WHERE p.id = ?",
            (post_id,),
        )
        return rows[0] if rows else None

    def author(self, author_id: int) -> dict[str, Any] | None:
        """Return an author with the titles of their posts."""
        rows = self._query("SELECT * FROM authors WHERE id = ?", (author_id,))
        if not rows:
            return None
        posts = self._query(
            "SELECT id, title FROM posts WHERE author_id = ? ORDER BY id", (author_id,)
        )
        return {**rows[0], "posts": posts}

    def popular(self, limit: int = 10) -> list[dict[str, Any]]:
        """Return the most viewed posts."""
        return self._query(
            "SELECT p.id, p.title, p.views, a.name AS author, p.author_id FROM posts p "
            "JOIN authors a ON a.id = p.author_id ORDER BY p.views DESC LIMIT ?",
            (limit,),
        )

    def update_post(self, post_id: int, title: str, body: str) -> None:
        """Change a post's title and body."""
        time.sleep(self.latency)
        with self._lock:
            self._db.execute(
                "UPDATE posts SET title = ?, body = ?, updated = ? WHERE id = ?",
                (title, body, time.time(), post_id),
            )
            self._db.commit()
