"""A TCP link between a client and a server that a test can cut or silence, like a network.

``cut()`` closes every connection through it and refuses new ones (a reset
the client sees at once); ``silence()`` keeps the connections open and drops
what flows through them (a partition nobody reports); ``heal()`` ends either.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from cache.testing.redis_server import free_port


class Link:
    """Forward ``127.0.0.1:port`` to ``127.0.0.1:target``."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = free_port()
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self._listener.settimeout(0.05)
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.state = "up"  # "up", "cut" or "silent"
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, path: str = "/0") -> str:
        """The URL of the server through this link."""
        return f"redis://127.0.0.1:{self.port}{path}"

    def cut(self) -> None:
        """Reset every connection and refuse new ones until :meth:`heal`."""
        self.state = "cut"
        self._close_all()

    def silence(self) -> None:
        """Keep connections open but drop every byte until :meth:`heal`."""
        self.state = "silent"

    def heal(self) -> None:
        """Forward again: new connections only (the partition's end resets the old ones)."""
        self._close_all()
        self.state = "up"

    def close(self) -> None:
        """Stop the link."""
        self._stop.set()
        self._close_all()
        self._listener.close()

    def _close_all(self) -> None:
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self.state == "cut":
                client.close()
                continue
            server = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._sockets += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                break
            if not data:
                break
            if self.state == "up":
                try:
                    sink.sendall(data)
                except OSError:
                    break
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
