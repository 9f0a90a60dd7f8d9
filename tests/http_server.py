"""The suite's one fake HTTP server: a threaded ``http.server`` on loopback whose answers
each test scripts.

Routes are matched by path prefix, first registered first. An answer is a tuple
``(status, headers, body)`` where ``body`` is bytes or an iterable of byte chunks (written
one by one, so a test can drip or cut a body); or a callable taking the :class:`Seen`
request and returning such a tuple. Without a ``Content-Length`` header the connection is
closed after the body, which is how a server sends a body of unannounced length.

Every request is recorded in :attr:`FakeServer.requests`, body included.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Body = bytes | Iterable[bytes]
Answer = tuple[int, dict[str, str], Body]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    extra: dict[str, Any] = field(default_factory=dict)


def as_json(status: int, body: object, **headers: str) -> Answer:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()


NOT_FOUND = as_json(404, {"error": {"code": "not_found", "message": "no such route"}})


class FakeServer:
    def __init__(self) -> None:
        self.routes: dict[str, Callable[[Seen], Answer]] = {}
        self.requests: list[Seen] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                seen = Seen(
                    self.command,
                    self.path,
                    dict(self.headers),
                    self.rfile.read(length) if length else b"",
                )
                fake.requests.append(seen)
                status, headers, body = fake.answer(seen)
                chunks = [body] if isinstance(body, bytes) else body
                headers = dict(headers)
                if isinstance(body, bytes):
                    headers.setdefault("Content-Length", str(len(body)))
                if "Content-Length" not in headers:
                    headers["Connection"] = "close"
                    self.close_connection = True
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    for chunk in chunks:
                        self.wfile.write(chunk)
                        self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _answer

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def on(self, prefix: str, answer: Answer | Callable[[Seen], Answer]) -> str:
        """Answer requests whose path starts with ``prefix``; return the route's full URL."""
        self.routes[prefix] = answer if callable(answer) else (lambda seen: answer)
        return self.url + prefix

    def answer(self, seen: Seen) -> Answer:
        for prefix, handler in self.routes.items():
            if seen.path.startswith(prefix):
                return handler(seen)
        return NOT_FOUND

    def paths(self, method: str | None = None) -> list[str]:
        return [r.path for r in self.requests if method is None or r.method == method]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
