"""Load: 5,000 requests, 8 at a time, through the real handler against the local runtime.

Bounded in count (REQUESTS) and in time (DEADLINE_S for the whole run), loopback only. Every
request must answer 200 and the runtime must have counted exactly REQUESTS invocations: no
retry hid an error, no request got lost.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor, as_completed

import pytest

from tests.support.frontend import rest_event

from .conftest import Live

pytestmark = pytest.mark.slow

REQUESTS = 5_000
CONCURRENCY = 8
DEADLINE_S = 120.0


def test_five_thousand_requests_eight_at_a_time(live: Live) -> None:
    events = [
        rest_event(json.dumps({"features": [i, i / 2]}), request_id=f"load-{i}")
        for i in range(REQUESTS)
    ]
    statuses: Counter[int] = Counter()
    mismatched: list[int] = []
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        futures = {pool.submit(live.invoke, event): i for i, event in enumerate(events)}
        for future in as_completed(futures, timeout=DEADLINE_S):
            i = futures[future]
            response = future.result()
            statuses[response["statusCode"]] += 1
            if (
                response["body"] != events[i]["body"]
                or response["headers"]["x-request-id"] != f"load-{i}"
            ):
                mismatched.append(i)
    elapsed = time.perf_counter() - started
    assert statuses == {200: REQUESTS}, statuses
    assert mismatched == []  # each caller got its own answer back
    assert live.runtime.count(live.endpoint_name) == REQUESTS  # no retry, nothing lost
    print(f"\n{REQUESTS} requests x{CONCURRENCY} in {elapsed:.1f} s ({REQUESTS / elapsed:.0f}/s)")
