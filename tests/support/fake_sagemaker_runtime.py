"""A local SageMaker runtime: ``POST /endpoints/{name}/invocations`` on 127.0.0.1.

Real botocore clients talk to it (set ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` to ``url`` and any
fake credentials while creating the client): they sign and send real HTTP and parse real
responses, including SageMaker's error shapes (``x-amzn-ErrorType`` header plus a JSON body).

Latency hygiene, or every figure measured against it is noise: the handler disables Nagle and
writes each response (status line, headers and body) with ONE ``write``; otherwise loopback
delayed-ACK adds ~40 ms per request. Connections are kept alive (HTTP/1.1), as botocore does.

``serve_in_process(client)`` answers one client's calls without the server (botocore still
builds and parses each call): for the rollout simulator's thousands of calls.

The default model echoes the request body, with the ``Accept`` type when one is given (not a
wildcard), else the request's content type. ``set_responder`` installs another model per
endpoint. Faults are injected per endpoint name (``set_fault``) or per request, by a header
``X-Fake-Fault: <kind>`` or a custom-attributes token ``fake-fault=<kind>`` (which the front end
passes through): see ``Fault``.

``capacity=Capacity(slots, service_seconds, queue)`` gives the model a known throughput, for load
tests: at most ``slots`` requests are served at once, each takes ``service_seconds``, up to
``queue`` more wait for a slot, and any request beyond that is throttled (429). So it serves at
most ``slots / service_seconds`` requests a second. Without it, answers are immediate.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import re
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

FaultKind = Literal[
    "model-error",  # 424 ModelError: the container answered `status` with `message`
    "throttle",  # `status` (429 by default; SageMaker also uses 400) ThrottlingException
    "internal",  # 500 InternalFailure
    "dependency",  # 530 InternalDependencyException
    "unavailable",  # 503 ServiceUnavailable
    "not-ready",  # 429 ModelNotReadyException
    "validation",  # 400 ValidationError
    "not-found",  # 400 ValidationError "Endpoint ... not found."
    "access-denied",  # 400 AccessDeniedException (not modeled)
    "slow",  # answer normally after `delay` seconds
    "drop",  # read the request, close the connection without an answer
]
FAULT_KINDS: tuple[str, ...] = FaultKind.__args__  # type: ignore[attr-defined]

ACCOUNT_ID = "123456789012"
REGION = "us-east-1"
MODEL_ERROR_TYPE = "ModelError:http://internal.amazon.com/coral/com.amazon.sagemaker/"
_PATH = re.compile(r"/endpoints/([^/]+)/invocations")
_FAULT_TOKEN = re.compile(r"fake-fault=([a-z-]+)")
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Fault:
    """A failure to inject. ``status`` is the model's own status for ``model-error``."""

    kind: FaultKind
    status: int | None = None
    message: str | None = None
    delay: float = 2.5


@dataclass(frozen=True)
class Capacity:
    """A model that serves ``slots`` requests at a time, ``service_seconds`` each."""

    slots: int
    service_seconds: float
    queue: int = 0

    @property
    def requests_per_second(self) -> float:
        return self.slots / self.service_seconds


class _CapacityGate:
    """Admits at most ``slots`` at once, ``queue`` waiting; refuses the rest."""

    def __init__(self, capacity: Capacity) -> None:
        self.capacity = capacity
        self._slots = threading.BoundedSemaphore(capacity.slots)
        self._lock = threading.Lock()
        self._inside = 0

    def serve(self, stopping: threading.Event) -> bool:
        """Hold a slot for the service time; False when the request must be throttled."""
        with self._lock:
            if self._inside >= self.capacity.slots + self.capacity.queue:
                return False
            self._inside += 1
        try:
            with self._slots:
                stopping.wait(self.capacity.service_seconds)
            return True
        finally:
            with self._lock:
                self._inside -= 1


@dataclass(frozen=True)
class RecordedRequest:
    """What the runtime received."""

    endpoint: str
    content_type: str | None
    accept: str | None
    custom_attributes: str | None
    body: bytes
    headers: dict[str, str] = field(repr=False)


Responder = Callable[[RecordedRequest], tuple[str, bytes]]


def echo_model(request: RecordedRequest) -> tuple[str, bytes]:
    """Answer the request body, typed as the Accept type (unless a wildcard) or the input's."""
    accept = request.accept
    if accept and "*" not in accept:
        return accept, request.body
    return request.content_type or "application/octet-stream", request.body


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins every connection thread
    block_on_close = True
    request_queue_size = 128  # a burst of new keep-alive connections must not hit SYN retries

    def __init__(self, runtime: FakeSageMakerRuntime) -> None:
        self.runtime = runtime
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: object, client_address: object) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return  # a client that gave up (read timeout) or a socket closed by stop()
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # with the single write below: no delayed-ACK stall

    def setup(self) -> None:
        super().setup()
        self.server.runtime._opened(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.runtime._closed(self.connection)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request access log."""

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        head = [f"HTTP/1.1 {status} {reason}"]
        head += [f"{name}: {value}" for name, value in headers.items()]
        head.append(f"x-amzn-RequestId: {self.server.runtime._next_request_id()}")
        head.append(f"Content-Length: {len(body)}")
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)  # ONE write

    def do_GET(self) -> None:
        """``GET /_fake/counts``: requests received per endpoint (for out-of-process users)."""
        if self.path != "/_fake/counts":
            self._send(*_unknown_operation())
            return
        counts = self.server.runtime.counts()
        self._send(200, {"Content-Type": "application/json"}, json.dumps(counts).encode())

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        runtime = self.server.runtime
        request = runtime._request(self.path, self.headers.items(), body)
        if request is None:
            self._send(*_unknown_operation())
            return
        runtime._record(request)
        fault = runtime._fault_for(request)
        gate = runtime._gate
        if fault is None and gate is not None and not gate.serve(runtime._stopping):
            fault = Fault(kind="throttle")
        if fault is None:
            self._send(*runtime._answer(request))
        elif fault.kind == "slow":
            if not runtime._stopping.wait(fault.delay):
                self._send(*runtime._answer(request))
        elif fault.kind == "drop":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        else:
            self._send(*_fault_answer(request, fault))


Answer = tuple[int, dict[str, str], bytes]


def _error(status: int, error_type: str, payload: dict[str, object]) -> Answer:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": error_type}
    return status, headers, json.dumps(payload).encode()


def _unknown_operation() -> Answer:
    return _error(404, "UnknownOperationException", {"message": "unknown operation"})


def _fault_answer(request: RecordedRequest, fault: Fault) -> Answer:
    """SageMaker's answer for a fault that is an answer (not ``slow`` or ``drop``)."""
    name = request.endpoint
    if fault.kind == "model-error":
        status = fault.status or 500
        message = fault.message or "model failed"
        origin = "client" if status < 500 else "server"
        return _error(
            424,
            MODEL_ERROR_TYPE,
            {
                "ErrorCode": f"{'CLIENT' if status < 500 else 'INTERNAL_FAILURE'}_FROM_MODEL",
                "LogStreamArn": (
                    f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/sagemaker/Endpoints/{name}"
                ),
                "OriginalMessage": message,
                "OriginalStatusCode": status,
                "Message": (
                    f"Received {origin} error ({status}) from primary with message "
                    f'"{message}". See https://{REGION}.console.aws.amazon.com/cloudwatch/'
                    f"home?region={REGION}#logEventViewer:group=/aws/sagemaker/Endpoints/"
                    f"{name} in account {ACCOUNT_ID} for more information."
                ),
            },
        )
    simple: dict[str, tuple[int, str, str]] = {
        "throttle": (fault.status or 429, "ThrottlingException", "Rate exceeded"),
        "internal": (500, "InternalFailure", "An internal failure occurred."),
        "dependency": (530, "InternalDependencyException", "Dependency failure."),
        "unavailable": (503, "ServiceUnavailable", "Service is unavailable."),
        "not-ready": (429, "ModelNotReadyException", "Model is not ready."),
        "validation": (400, "ValidationError", "Received invalid input."),
        "not-found": (
            400,
            "ValidationError",
            f"Endpoint {name} of account {ACCOUNT_ID} not found.",
        ),
        "access-denied": (400, "AccessDeniedException", "User is not authorized."),
    }
    status, error_type, message = simple[fault.kind]
    return _error(status, error_type, {"message": fault.message or message})


class _RawBody:
    """An answer's body as botocore reads a urllib3 response (``stream``, ``read``)."""

    def __init__(self, body: bytes) -> None:
        self._body = io.BytesIO(body)

    def stream(self, **_: object) -> Iterator[bytes]:
        yield self._body.read()

    def read(self, amt: int | None = None) -> bytes:
        return self._body.read(amt)


class FakeSageMakerRuntime:
    """The server, its recorded requests and its fault plan. Use as a context manager."""

    def __init__(self, *, record_bodies: bool = True, capacity: Capacity | None = None) -> None:
        self._record_bodies = record_bodies
        self._gate = _CapacityGate(capacity) if capacity is not None else None
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._requests: list[RecordedRequest] = []
        self._faults: dict[str, Fault] = {}
        self._responders: dict[str, Responder] = {}
        self._connections: set[socket.socket] = set()
        self._ids = count(1)
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeSageMakerRuntime:
        self._stopping.clear()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-sagemaker-runtime",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # wake idle keep-alive threads so they can be joined
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSageMakerRuntime:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``: the value for ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME``."""
        if self._server is None:
            raise RuntimeError("the fake runtime is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- configuration -----------------------------------------------------------------------
    def set_fault(self, endpoint: str, fault: Fault | None) -> None:
        """Every request to ``endpoint`` fails with ``fault`` (``None`` heals it)."""
        with self._lock:
            if fault is None:
                self._faults.pop(endpoint, None)
            else:
                self._faults[endpoint] = fault

    def set_responder(self, endpoint: str, responder: Responder) -> None:
        """``endpoint`` answers ``responder(request) -> (content_type, body)``."""
        with self._lock:
            self._responders[endpoint] = responder

    @contextmanager
    def fault(self, endpoint: str, fault: Fault) -> Iterator[None]:
        self.set_fault(endpoint, fault)
        try:
            yield
        finally:
            self.set_fault(endpoint, None)

    # -- observations ------------------------------------------------------------------------
    def count(self, endpoint: str | None = None) -> int:
        """Requests received (for one endpoint, or in total), faulty ones included."""
        with self._lock:
            return self._counts[endpoint] if endpoint else sum(self._counts.values())

    def counts(self) -> dict[str, int]:
        """Requests received per endpoint."""
        with self._lock:
            return dict(self._counts)

    def requests(self, endpoint: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self._requests if endpoint is None or r.endpoint == endpoint]

    # -- in process ----------------------------------------------------------------------------
    def serve_in_process(self, client: Any) -> None:
        """Answer ``client``'s InvokeEndpoint calls in this process, without the server: on
        botocore's ``before-send`` event, so botocore still builds, signs and parses every call
        (error shapes included); no socket, no thread. For many calls where the transport is not
        under test (the rollout simulator). Per-endpoint faults, responders and counts work as
        over HTTP; ``slow``, ``drop`` and ``capacity`` act on connections and need the server."""
        client.meta.events.register(
            "before-send.sagemaker-runtime.InvokeEndpoint", self._answer_prepared
        )

    def _answer_prepared(self, request: AWSPreparedRequest, **_: object) -> AWSResponse:
        body = request.body or b""
        received = self._request(
            urlsplit(request.url).path,
            request.headers.items(),
            body.encode() if isinstance(body, str) else body,
        )
        if received is None:
            status, headers, payload = _unknown_operation()
        else:
            self._record(received)
            fault = self._fault_for(received)
            if fault is not None and fault.kind in ("slow", "drop"):
                raise ValueError(f"a {fault.kind} fault needs the HTTP server (start())")
            answer = self._answer(received) if fault is None else _fault_answer(received, fault)
            status, headers, payload = answer
        headers = {
            **headers,
            "x-amzn-RequestId": self._next_request_id(),
            "Content-Length": str(len(payload)),
        }
        return AWSResponse(request.url, status, headers, _RawBody(payload))

    # -- used by the handler threads -----------------------------------------------------------
    @staticmethod
    def _request(
        path: str, headers: Iterable[tuple[str, str | bytes]], body: bytes
    ) -> RecordedRequest | None:
        """The InvokeEndpoint request at ``path`` (``None``: another path)."""
        match = _PATH.fullmatch(path.split("?", 1)[0])
        if match is None:
            return None
        lower = {
            name.lower(): value.decode() if isinstance(value, bytes) else value
            for name, value in headers
        }
        return RecordedRequest(
            endpoint=unquote(match[1]),
            content_type=lower.get("content-type"),
            accept=lower.get("accept"),
            custom_attributes=lower.get("x-amzn-sagemaker-custom-attributes"),
            body=body,
            headers=lower,
        )

    def _answer(self, request: RecordedRequest) -> Answer:
        content_type, body = self._responder_for(request.endpoint)(request)
        headers = {"Content-Type": content_type, "x-Amzn-Invoked-Production-Variant": "AllTraffic"}
        if request.custom_attributes is not None:
            headers["X-Amzn-SageMaker-Custom-Attributes"] = request.custom_attributes
        return 200, headers, body

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self._counts[request.endpoint] += 1
            if self._record_bodies:
                self._requests.append(request)

    def _fault_for(self, request: RecordedRequest) -> Fault | None:
        kind = request.headers.get("x-fake-fault")
        if kind is None and request.custom_attributes:
            token = _FAULT_TOKEN.search(request.custom_attributes)
            kind = token[1] if token else None
        if kind in FAULT_KINDS:
            return Fault(kind=kind)  # type: ignore[arg-type]
        with self._lock:
            return self._faults.get(request.endpoint)

    def _responder_for(self, endpoint: str) -> Responder:
        with self._lock:
            return self._responders.get(endpoint, echo_model)

    def _next_request_id(self) -> str:
        return f"fake-{next(self._ids):08d}"

    def _opened(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _closed(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.discard(connection)


@contextmanager
def in_child_process(capacity: Capacity | None = None) -> Iterator[str]:
    """The runtime in a child process and interpreter of its own, away from the client that a
    benchmark or a latency-sensitive test measures (no shared GIL); yields its URL."""
    command = [sys.executable, "-m", "tests.support.fake_sagemaker_runtime"]
    if capacity is not None:
        command += ["--capacity", *map(str, dataclasses.astuple(capacity))]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("URL "):
            raise RuntimeError(f"fake runtime did not start: {line!r}")
        yield line.split()[1]
    finally:
        if process.stdin is not None:
            process.stdin.close()  # the runtime stops when its stdin closes
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def main() -> None:
    """``python -m tests.support.fake_sagemaker_runtime [--capacity SLOTS SECONDS QUEUE]``:
    serve until stdin closes. Prints ``URL http://127.0.0.1:<port>`` first (``in_child_process``
    reads it)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--capacity", nargs=3, metavar=("SLOTS", "SECONDS", "QUEUE"))
    args = parser.parse_args()
    capacity = None
    if args.capacity:
        slots, seconds, queue = args.capacity
        capacity = Capacity(int(slots), float(seconds), int(queue))
    with FakeSageMakerRuntime(record_bodies=False, capacity=capacity) as runtime:
        print(f"URL {runtime.url}", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
