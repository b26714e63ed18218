"""The bucket SageMaker data capture writes to, and Model Monitor reads from and reports to."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from safe_sagemaker.constructs.secure_bucket import AccessLogsBucket, SecureBucket

CAPTURE_PREFIX = "datacapture"
REPORTS_PREFIX = "monitoring"


class DataCaptureBucket(Construct):
    """A hardened bucket (see ``SecureBucket``) for endpoint data capture and Model Monitor
    reports, one prefix per endpoint:

    - ``datacapture/<endpoint-name>/``: the endpoint's capture destination. SageMaker appends
      ``<endpoint-name>/<variant>/yyyy/mm/dd/hh/`` to it, so the endpoint name appears twice in
      an object key; in exchange the prefix belongs to one endpoint whatever SageMaker appends,
      which is what lets the post-traffic hook count the green endpoint's captures alone.
    - ``monitoring/<endpoint-name>/``: the endpoint's Model Monitor reports.

    Created resources: ``key``, ``bucket``, ``access_logs`` (unless a log bucket is passed).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        retention: Duration = Duration.days(90),
        access_logs_bucket: s3.IBucket | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param bucket_name: the bucket's physical name (see ``SecureBucket``).
        :param retention: how long captures and reports are kept. Default: 90 days.
        :param access_logs_bucket: where S3 server access logs go. Default: a new
            ``AccessLogsBucket``.
        :param removal_policy: for the key and the bucket. Default: ``RETAIN``.
        """
        super().__init__(scope, construct_id)
        self.access_logs: AccessLogsBucket | None = None
        if access_logs_bucket is None:
            self.access_logs = AccessLogsBucket(self, "AccessLogs", removal_policy=removal_policy)
            access_logs_bucket = self.access_logs.bucket
        storage = SecureBucket(
            self,
            "Storage",
            bucket_name=bucket_name,
            description="captured SageMaker endpoint requests, responses and Model Monitor reports",
            access_logs_bucket=access_logs_bucket,
            access_logs_prefix="data-capture/",
            expiration=retention,
            removal_policy=removal_policy,
        )
        self._storage = storage
        self.key = storage.key
        self.bucket = storage.bucket
        self.bucket_name = bucket_name

    @staticmethod
    def capture_prefix(endpoint_name: str) -> str:
        """The key prefix holding ``endpoint_name``'s captures."""
        return f"{CAPTURE_PREFIX}/{endpoint_name}/"

    @staticmethod
    def reports_prefix(endpoint_name: str) -> str:
        """The key prefix holding ``endpoint_name``'s Model Monitor reports."""
        return f"{REPORTS_PREFIX}/{endpoint_name}/"

    def s3_uri(self, prefix: str) -> str:
        return f"s3://{self.bucket_name}/{prefix.rstrip('/')}"

    def capture_config(
        self,
        endpoint_name: str,
        *,
        sampling_percentage: int = 100,
        json_content_types: Sequence[str] = ("application/json",),
        csv_content_types: Sequence[str] = ("text/csv",),
    ) -> sagemaker.CfnEndpointConfig.DataCaptureConfigProperty:
        """Capture of requests and responses of ``endpoint_name`` into its own prefix,
        encrypted with this bucket's key.

        :param sampling_percentage: share of requests captured, 1-100. Default: 100.
        :param json_content_types: content types recorded as JSON text. Default:
            ``application/json``.
        :param csv_content_types: content types recorded as CSV text. Default: ``text/csv``.
            Anything else is recorded base64-encoded.
        """
        if not 1 <= sampling_percentage <= 100:
            raise ValueError(
                f"sampling_percentage must be between 1 and 100, not {sampling_percentage}"
            )
        return sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            enable_capture=True,
            initial_sampling_percentage=sampling_percentage,
            destination_s3_uri=self.s3_uri(self.capture_prefix(endpoint_name)),
            kms_key_id=self.key.key_arn,
            capture_options=[
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
            ],
            capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                json_content_types=list(json_content_types) or None,
                csv_content_types=list(csv_content_types) or None,
            ),
        )

    def grant_capture(self, grantee: iam.IGrantable, endpoint_name: str) -> iam.Grant:
        """Let an endpoint's execution role write its captures (SageMaker uses that role)."""
        return self._storage.grant_put(grantee, self.capture_prefix(endpoint_name))

    def grant_read_captures(self, grantee: iam.IGrantable, endpoint_name: str) -> iam.Grant:
        """Let ``grantee`` (a monitoring job's role, a deployment hook) read one endpoint's
        captures."""
        return self._storage.grant_read(grantee, self.capture_prefix(endpoint_name))

    def grant_write_reports(self, grantee: iam.IGrantable, endpoint_name: str) -> iam.Grant:
        """Let a monitoring job's role write one endpoint's reports."""
        return self._storage.grant_put(grantee, self.reports_prefix(endpoint_name))
