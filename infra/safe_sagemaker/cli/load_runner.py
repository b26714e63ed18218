"""One step of open-loop load against a SageMaker endpoint through botocore.

Requests are sent on a fixed schedule whatever the answers do (open loop), and each latency is
counted from the moment its request was due, so a slow endpoint cannot hide its queueing by
slowing the sender down (coordinated omission).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from safe_sagemaker.cli.load_steps import Step, summarize


def runtime_client(session: boto3.Session, concurrency: int, read_timeout: float) -> Any:
    """A ``sagemaker-runtime`` client for load: one attempt per request (a retry would hide an
    error and add its latency to another's), one pooled connection per sender thread."""
    return session.client(
        "sagemaker-runtime",
        config=Config(
            max_pool_connections=concurrency,
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=2,
            read_timeout=read_timeout,
        ),
    )


@dataclass
class StepRunner:
    client: Any
    endpoint: str
    body: bytes
    content_type: str
    step_seconds: float
    concurrency: int

    def check(self) -> None:
        """One request before any load, so a missing endpoint or missing credentials fail as
        one clear error instead of a step full of errors."""
        self.client.invoke_endpoint(
            EndpointName=self.endpoint, Body=self.body, ContentType=self.content_type
        )["Body"].read()

    def __call__(self, rate: float) -> Step:
        count = max(1, round(rate * self.step_seconds))
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()

        def send(due: float) -> None:
            nonlocal errors
            try:
                self.client.invoke_endpoint(
                    EndpointName=self.endpoint, Body=self.body, ContentType=self.content_type
                )["Body"].read()
            except (ClientError, BotoCoreError):
                with lock:
                    errors += 1
                return
            elapsed_ms = (time.perf_counter() - due) * 1000
            with lock:
                latencies.append(elapsed_ms)

        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            futures = []
            for index in range(count):
                due = start + index / rate
                delay = due - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                futures.append(pool.submit(send, due))
            # The achieved rate is over the sending window: slowness shows in the latencies
            # (counted from each request's due time), a sender that fell behind shows here.
            window = max(count / rate, time.perf_counter() - start + 1 / rate)
            wait(futures)
        return summarize(rate, latencies, errors, window)
