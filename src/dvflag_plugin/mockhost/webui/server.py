"""Serve the UI on 127.0.0.1 (one thread: SQLite-friendly), in the foreground or from a thread for tests."""

from __future__ import annotations

import threading

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

LOOPBACK = "127.0.0.1"


class ServerThread:
    """The UI served from a background thread; ``url`` once started, ``stop()`` to end it."""

    def __init__(self, app: Flask, port: int = 0) -> None:
        self.server: BaseWSGIServer = make_server(LOOPBACK, port, app, threaded=False)
        self.url = f"http://{LOOPBACK}:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="mockhost-webui", daemon=True)

    def start(self) -> ServerThread:
        """Begin serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


def serve_forever(app: Flask, port: int) -> None:
    """Serve until interrupted (``dvflag mockhost serve``)."""
    server = make_server(LOOPBACK, port, app, threaded=False)
    try:
        server.serve_forever()
    finally:
        server.server_close()
