"""S3 buckets for data the stack keeps (captures, canary artifacts) and the bucket their access
logs go to. Every data bucket gets the same hardening, in one place."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from safe_sagemaker.constructs.grants import add_statement
from safe_sagemaker.nag import acknowledge, wildcard_resource

REPLICATION = "NIST.800.53.R5-S3BucketReplicationEnabled"
_NOT_REPLICATED = (
    "the stack's buckets hold expiring, regional operational data (captures, access logs, "
    "canary artifacts) that is versioned against overwrites; a copy in a second region would "
    "double the data to protect for no recovery objective the design has"
)


class AccessLogsBucket(Construct):
    """The target of S3 server access logs: SSL only, public access blocked, versioned,
    expiring.

    S3 log delivery cannot write to a bucket whose default encryption is SSE-KMS, so this bucket
    uses SSE-S3.

    Created resources: ``bucket``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        expiration: Duration = Duration.days(90),
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param expiration: how long access log objects are kept. Default: 90 days.
        :param removal_policy: what happens to the bucket when the stack is deleted. Default:
            ``RETAIN``.
        """
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Resource",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            # ACLs off: log delivery is granted by bucket policy (see SecureBucket).
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            # An overwritten or deleted log object stays recoverable until the next day.
            versioned=True,
            lifecycle_rules=[_expiry("expire-access-logs", expiration)],
            removal_policy=removal_policy,
        )
        acknowledge(
            self.bucket,
            "NIST.800.53.R5-S3DefaultEncryptionKMS",
            "S3 server access log delivery cannot write to a bucket whose default encryption "
            "is SSE-KMS; the logs are encrypted with SSE-S3 (AES-256) instead",
        )
        acknowledge(self.bucket, REPLICATION, _NOT_REPLICATED)


class SecureBucket(Construct):
    """A data bucket: SSE-KMS with its own customer-managed key (rotated), S3 Bucket Keys,
    public access blocked, SSL only, versioned, server access logs, and a lifecycle rule that
    expires objects (and their old versions).

    Grants are prefix-scoped in S3 and bucket-scoped in KMS: the key policy denies every data
    use of the key that is not S3 working on this bucket, and grantees get the key through
    their own policies. The key policy names the bucket
    while the bucket names the key; a CloudFormation-generated bucket name would make that a
    dependency cycle, so the bucket gets a physical name.

    Created resources: ``key``, ``bucket``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bucket_name: str,
        description: str,
        access_logs_bucket: s3.IBucket,
        access_logs_prefix: str,
        expiration: Duration,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param bucket_name: the bucket's physical name (globally unique; a RETAINed bucket
            keeps it after the stack is deleted).
        :param description: what the bucket holds (the key's description).
        :param access_logs_bucket: where S3 server access logs go.
        :param access_logs_prefix: the prefix of this bucket's access logs there.
        :param expiration: how long objects are kept.
        :param removal_policy: what happens to the key and the bucket when the stack is deleted.
            Default: ``RETAIN``. A non-empty bucket cannot be destroyed by CloudFormation.
        """
        super().__init__(scope, construct_id)
        self.bucket_name = bucket_name
        stack = Stack.of(self)
        self._bucket_arn = f"arn:{stack.partition}:s3:::{bucket_name}"
        # Read once: every grant names them, and each read is a jsii round trip.
        self._region = stack.region
        self.key = kms.Key(
            self,
            "Key",
            description=f"Encrypts {description}",
            enable_key_rotation=True,
            removal_policy=removal_policy,
        )
        self._key_arn = self.key.key_arn
        self.bucket = s3.Bucket(
            self,
            "Resource",
            bucket_name=bucket_name,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.key,
            # One data key per bucket instead of one KMS call per object.
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            lifecycle_rules=[_expiry("expire-objects", expiration)],
            removal_policy=removal_policy,
        )
        self._log_to(access_logs_bucket, access_logs_prefix)
        self._confine_key()
        acknowledge(self.bucket, REPLICATION, _NOT_REPLICATED)

    def _log_to(self, target: s3.IBucket, prefix: str) -> None:
        # Set here rather than through ``server_access_logs_bucket``, which grants S3 log
        # delivery with a bucket ACL or a bucket policy depending on a feature flag: this is
        # the bucket-policy way whatever the app's flags, so the log bucket can disable ACLs.
        cfn_bucket = self.bucket.node.default_child
        assert isinstance(cfn_bucket, s3.CfnBucket)
        cfn_bucket.logging_configuration = s3.CfnBucket.LoggingConfigurationProperty(
            destination_bucket_name=target.bucket_name, log_file_prefix=prefix
        )
        target.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal("logging.s3.amazonaws.com")],
                actions=["s3:PutObject"],
                resources=[target.arn_for_objects(f"{prefix}*")],
                conditions={
                    "ArnLike": {"aws:SourceArn": self._bucket_arn},
                    "StringEquals": {"aws:SourceAccount": Stack.of(self).account},
                },
            )
        )

    def grant_put(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Allow ``grantee`` to write objects under ``prefix`` (and to encrypt them)."""
        self._allow_key_use(grantee, ["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"])
        return self._grant_objects(grantee, prefix, ["s3:PutObject", "s3:AbortMultipartUpload"])

    def grant_read(self, grantee: iam.IGrantable, prefix: str) -> iam.Grant:
        """Allow ``grantee`` to list and read objects under ``prefix`` (and to decrypt them)."""
        self._allow_key_use(grantee, ["kms:Decrypt"])
        iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["s3:ListBucket"],
            resource_arns=[self._bucket_arn],
            conditions={"StringLike": {"s3:prefix": [_as_prefix(prefix) + "*"]}},
        )
        return self._grant_objects(grantee, prefix, ["s3:GetObject"])

    def _grant_objects(self, grantee: iam.IGrantable, prefix: str, actions: list[str]) -> iam.Grant:
        objects = f"{self._bucket_arn}/{_as_prefix(prefix)}*"
        grant = iam.Grant.add_to_principal(
            grantee=grantee, actions=actions, resource_arns=[objects]
        )
        if isinstance(grantee, Construct):
            acknowledge(
                grantee,
                "AwsSolutions-IAM5",
                "Objects under one prefix of one bucket: their keys (dates, request ids) are "
                "chosen at run time by the writer, so the prefix is the narrowest scope.",
                findings=(wildcard_resource(self, objects),),
            )
        return grant

    def _allow_key_use(self, grantee: iam.IGrantable, actions: list[str]) -> None:
        # On the grantee, not in the key policy: a key policy naming roles is updated in place
        # when a green endpoint's role replaces blue's, and blue would lose the key mid-shift.
        # The key policy still confines every use to S3 and this bucket (see _confine_key).
        add_statement(
            grantee.grant_principal,
            iam.PolicyStatement(
                actions=actions,
                resources=[self._key_arn],
                conditions=self._key_use_conditions(),
            ),
        )

    def _key_use_conditions(self) -> dict[str, Any]:
        bucket_arn = self._bucket_arn
        return {
            "StringEquals": {"kms:ViaService": f"s3.{self._region}.amazonaws.com"},
            # With S3 Bucket Keys the context is the bucket's ARN, else the object's.
            "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket_arn, f"{bucket_arn}/*"]},
        }

    def _confine_key(self) -> None:
        """Deny the key's data operations to everyone unless S3 asks for this bucket, so no IAM
        policy, however broad, can use the key for anything else."""
        bucket_arn = self._bucket_arn
        outside: dict[str, dict[str, Any]] = {
            "not through S3": {
                "StringNotEquals": {"kms:ViaService": f"s3.{self._region}.amazonaws.com"}
            },
            "not for this bucket": {
                "StringNotLike": {
                    "kms:EncryptionContext:aws:s3:arn": [bucket_arn, f"{bucket_arn}/*"]
                }
            },
        }
        for sid, condition in outside.items():
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="DenyDataUse" + sid.title().replace(" ", ""),
                    effect=iam.Effect.DENY,
                    principals=[iam.AnyPrincipal()],
                    actions=_KEY_DATA_ACTIONS,
                    resources=["*"],  # in a key policy "*" means this key
                    conditions=condition,
                )
            )


_KEY_DATA_ACTIONS = [
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
]


def _expiry(rule_id: str, expiration: Duration) -> s3.LifecycleRule:
    """Objects expire after ``expiration``; versioning protects against overwrites, not
    against the retention policy, so an older version goes a day after it is replaced."""
    return s3.LifecycleRule(
        id=rule_id,
        expiration=expiration,
        noncurrent_version_expiration=Duration.days(1),
        abort_incomplete_multipart_upload_after=Duration.days(1),
    )


def _as_prefix(prefix: str) -> str:
    return prefix if prefix.endswith("/") else prefix + "/"
