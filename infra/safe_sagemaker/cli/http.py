"""Calling the prediction API: SigV4-signed with botocore (service ``execute-api``), or with an
API key, sent through botocore's own HTTP session so errors read like every other AWS error."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, NoCredentialsError
from botocore.httpsession import URLLib3Session

ENDPOINT_HEADER = "x-sagemaker-endpoint"
VERSION_HEADER = "x-model-version"
_API_HOST = re.compile(r"\.execute-api\.([a-z0-9-]+)\.amazonaws\.com")


@dataclass(frozen=True)
class Answer:
    """One answer of the API or of an endpoint; ``endpoint`` is who served it, when known."""

    status: int
    latency_ms: float
    headers: dict[str, str]
    body: bytes
    endpoint: str | None
    model_version: str | None

    def summary(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "latency_ms": round(self.latency_ms, 1),
            "endpoint": self.endpoint,
            "model_version": self.model_version,
            "content_type": self.headers.get("content-type"),
        }


def api_region(url: str, default: str | None) -> str:
    """The region to sign for: the one in an API Gateway host name, else the session's."""
    match = _API_HOST.search(url)
    if match:
        return match.group(1)
    if default is None:
        raise ValueError("no region to sign for: pass --region")
    return default


def signed_request(
    url: str,
    body: bytes,
    content_type: str,
    *,
    credentials: Credentials | None,
    region: str | None,
    api_key: str | None = None,
) -> AWSRequest:
    """A POST to ``url``, with an ``x-api-key`` or signed by ``credentials``."""
    headers = {"Content-Type": content_type, "Accept": "*/*"}
    if api_key is not None:
        headers["x-api-key"] = api_key
    request = AWSRequest(method="POST", url=url, data=body, headers=headers)
    if api_key is None:
        if credentials is None:
            raise NoCredentialsError()
        SigV4Auth(credentials, "execute-api", api_region(url, region)).add_auth(request)
    return request


class ApiCaller:
    """Sends requests to the API over one keep-alive connection pool."""

    def __init__(
        self,
        *,
        credentials: Credentials | None,
        region: str | None,
        api_key: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._credentials = credentials
        self._region = region
        self._api_key = api_key
        self._http = URLLib3Session(timeout=timeout)

    def post(self, url: str, body: bytes, content_type: str) -> Answer:
        request = signed_request(
            url,
            body,
            content_type,
            credentials=self._credentials,
            region=self._region,
            api_key=self._api_key,
        )
        started = time.perf_counter()
        response = self._http.send(request.prepare())
        latency_ms = (time.perf_counter() - started) * 1000
        headers = {name.lower(): value for name, value in response.headers.items()}
        return Answer(
            status=response.status_code,
            latency_ms=latency_ms,
            headers=headers,
            body=response.content,
            endpoint=headers.get(ENDPOINT_HEADER),
            model_version=headers.get(VERSION_HEADER),
        )


def invoke_endpoint(runtime: Any, endpoint: str, body: bytes, content_type: str) -> Answer:
    """Call a SageMaker endpoint directly (``runtime`` is a ``sagemaker-runtime`` client, so
    ``AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME`` and the other standard settings apply). A model
    error comes back as its status (424 from SageMaker), not an exception."""
    started = time.perf_counter()
    try:
        response = runtime.invoke_endpoint(
            EndpointName=endpoint, Body=body, ContentType=content_type, Accept="*/*"
        )
        payload = response["Body"].read()
        status = 200
        headers = {"content-type": response.get("ContentType", "")}
    except ClientError as error:
        meta = error.response.get("ResponseMetadata", {})
        status = int(meta.get("HTTPStatusCode", 500))
        if _endpoint_missing(error):
            raise
        payload = str(error.response.get("Error", {}).get("Message", "")).encode()
        headers = {"content-type": "text/plain"}
    latency_ms = (time.perf_counter() - started) * 1000
    return Answer(status, latency_ms, headers, payload, endpoint, None)


def _endpoint_missing(error: Any) -> bool:
    message = str(error.response.get("Error", {}).get("Message", ""))
    return "not found" in message and "Endpoint" in message
