"""A fake Anthropic Messages API on 127.0.0.1, for tests of everything that calls Claude.

Point the SDK at it with `anthropic_base_url=fake.url`. Each `POST /v1/messages` pops the
next scripted reply (or uses `default`) and is recorded, body and headers, so that tests
can assert what was sent: the prompt is the one place another user's data could leak.

    with FakeAnthropic() as fake:
        fake.script(Reply.json({"response": "hi"}), Reply.status(500), Reply.hang())
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# Longest a hanging reply holds its connection; the fake's shutdown releases it sooner.
MAX_HANG_SECONDS = 10.0
MESSAGES_PATH = "/v1/messages"
# How often the server loop checks for shutdown; the default 0.5 s would slow every test.
POLL_INTERVAL_SECONDS = 0.02


@dataclass(frozen=True)
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def prompt_text(self) -> str:
        """The system prompt and every message, as one string to search for leaks."""
        return json.dumps({"system": self.body.get("system"), "messages": self.body["messages"]})


@dataclass(frozen=True)
class Reply:
    """One scripted response: a status, headers and raw body, or a hang."""

    status_code: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False
    # Builds the body from the request, for replies that echo what they were sent.
    render: Callable[[dict[str, Any]], bytes] | None = None

    @staticmethod
    def message(text: str, *, stop_reason: str = "end_turn", model: str = "claude-test") -> Reply:
        return Reply(body=json.dumps(message_body(text, stop_reason, model)).encode())

    @staticmethod
    def json(value: Any, **kwargs: Any) -> Reply:
        """A well-formed message whose text is `value` serialised as JSON."""
        return Reply.message(json.dumps(value), **kwargs)

    @staticmethod
    def status(code: int, *, retry_after_ms: int | None = None) -> Reply:
        error = {"type": "error", "error": {"type": "api_error", "message": "fake failure"}}
        headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else {}
        return Reply(status_code=code, body=json.dumps(error).encode(), headers=headers)

    @staticmethod
    def raw(body: bytes, status_code: int = 200) -> Reply:
        return Reply(status_code=status_code, body=body)

    @staticmethod
    def hanging() -> Reply:
        return Reply(hang=True)

    @staticmethod
    def echo_prompt() -> Reply:
        """A model that obeys every injection: it answers with its whole prompt."""

        def render(request: dict[str, Any]) -> bytes:
            prompt = json.dumps({"system": request.get("system"), "messages": request["messages"]})
            return json.dumps(message_body(prompt, "end_turn", "claude-test")).encode()

        return Reply(render=render)


def message_body(text: str, stop_reason: str, model: str) -> dict[str, Any]:
    return {
        "id": "msg_fake",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


class FakeAnthropic:
    def __init__(self, default: Reply | None = None) -> None:
        self.default = default or Reply.status(500)
        self.requests: list[Recorded] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_INTERVAL_SECONDS,), daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def prompts(self) -> str:
        """Everything ever sent to the fake, for leak checks."""
        return "\n".join(r.prompt_text for r in self.requests)

    def __enter__(self) -> FakeAnthropic:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def _next(self, request: Recorded) -> Reply:
        with self._lock:
            self.requests.append(request)
            return self._script.popleft() if self._script else self.default

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                headers = {k.lower(): v for k, v in self.headers.items()}
                reply = fake._next(Recorded(self.path, headers, body))
                if self.path.split("?")[0] != MESSAGES_PATH:
                    reply = Reply.status(404)
                if reply.hang:
                    fake._release.wait(MAX_HANG_SECONDS)
                    return
                payload = reply.render(body) if reply.render else reply.body
                self.send_response(reply.status_code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                # The default handler writes every request to stderr.
                return

        return Handler


def serve() -> Iterator[FakeAnthropic]:
    """A fixture body: `fake_anthropic = pytest.fixture(serve)` in a test module."""
    with FakeAnthropic() as fake:
        yield fake
