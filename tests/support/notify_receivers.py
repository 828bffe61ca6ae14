"""Real receivers of notifications for tests and the bench: an HTTP server (http.server, on a
thread) that records every request and answers as told, and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived


@dataclass
class HttpReceiver:
    """Answers each request with the next of `script` (a status code, or "hang": answer
    nothing for `hang_s`), then `default`."""

    port: int = 0
    script: list[int | str] = field(default_factory=list)
    default: int = 200
    hang_s: float = 5.0
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    receiver.received.append(
                        Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                 body, time.time())
                    )  # fmt: skip
                    answer = receiver.script.pop(0) if receiver.script else receiver.default
                if answer == "hang":
                    time.sleep(receiver.hang_s)
                    return
                self.send_response(int(answer))
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        return wait_until(lambda: len(self.received) >= count, timeout, lambda: self.received)


class _Sink:
    def __init__(self, messages: list[tuple[Message, float, list[str]]]) -> None:
        self._messages = messages

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self._messages.append(
            (message_from_bytes(envelope.content), time.time(), list(envelope.rcpt_tos))
        )
        return "250 OK"


class SmtpReceiver:
    """A real SMTP server (aiosmtpd) on 127.0.0.1; stop() and start() keep its port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.messages: list[tuple[Message, float, list[str]]] = []
        self._controller: Controller | None = None

    def start(self) -> SmtpReceiver:
        self._controller = Controller(_Sink(self.messages), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 30) -> list[tuple[Message, float, list[str]]]:
        return wait_until(lambda: len(self.messages) >= count, timeout, lambda: self.messages)


def wait_until(done: Callable[[], bool], timeout: float, value: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout} s: {value()!r}"[:3000])
        time.sleep(0.02)
    return value()
