"""A local stand-in for the prediction API (API Gateway -> front end) on 127.0.0.1.

``POST /v1/models/<model>/invocations`` is forwarded to an endpoint of the fake SageMaker
runtime, chosen per request by ``choose()`` (blue or green during a shift), and answered with
the front end's headers ``x-sagemaker-endpoint`` and ``x-model-version``. The headers of every
request are kept, so tests can check the SigV4 signature or the API key that was sent.
Like the fake runtime, it disables Nagle and answers in one write (no delayed-ACK stalls).
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MODEL_PATH = "/v1/models/{model}/invocations"


class FakeApi:
    def __init__(self, runtime_url: str, choose: Callable[[], str]) -> None:
        self.runtime_url = runtime_url
        self.choose = choose
        self.headers: list[dict[str, str]] = []
        # Requests answered in full (the headers above are kept when a request arrives).
        self.answered = 0
        self._lock = threading.Lock()
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                """Silence the access log."""

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with api._lock:
                    api.headers.append({k.lower(): v for k, v in self.headers.items()})
                endpoint = api.choose()
                request = urllib.request.Request(
                    f"{api.runtime_url}/endpoints/{endpoint}/invocations",
                    data=body,
                    headers={"Content-Type": self.headers.get("Content-Type", "")},
                )
                try:
                    with urllib.request.urlopen(request, timeout=5) as answer:
                        status, payload = answer.status, answer.read()
                except urllib.error.HTTPError as error:
                    status, payload = 502, error.read()
                head = (
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\n"
                    f"x-sagemaker-endpoint: {endpoint}\r\n"
                    f"x-model-version: {endpoint.rsplit('-', 1)[-1]}\r\n"
                    f"Content-Length: {len(payload)}\r\n\r\n"
                )
                self.wfile.write(head.encode() + payload)
                with api._lock:
                    api.answered += 1

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeApi:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def url(self, model: str) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}" + MODEL_PATH.format(model=model)
