"""A stub OpenAI-compatible chat-completions server on 127.0.0.1, for tests and for the
harness benchmarks: a handler function decides each reply (status and body), with an optional
delay per call, so timeouts, 500s, malformed bodies and slow servers can be staged offline.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Handler = Callable[[dict[str, Any]], tuple[int, str]]
"""A stub reply: (HTTP status, body) for a chat-completions request."""


def completion(content: str) -> tuple[int, str]:
    body = {"choices": [{"index": 0, "message": {"role": "assistant", "content": content}}]}
    return 200, json.dumps(body)


@dataclass
class StubServer:
    """An OpenAI-compatible chat-completions stub; ``handler`` decides every reply."""

    handler: Handler
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    def set(self, handler: Handler, delay: float = 0.0) -> None:
        self.handler, self.delay = handler, delay


@contextmanager
def stub_server(handler: Handler, delay: float = 0.0) -> Iterator[StubServer]:
    stub = StubServer(handler=handler, delay=delay)
    lock = threading.Lock()

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stall between header and body

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            payload = json.loads(self.rfile.read(length) or b"{}")
            with lock:
                stub.requests.append(payload)
            if stub.delay:
                time.sleep(stub.delay)
            status, body = stub.handler(payload)
            data = body.encode("utf-8")
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and went away

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stub.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
