"""A regional REST API that routes each model's invocations to that model's ``live`` alias."""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Duration, Names, RemovalPolicy, Stack, Token
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from safe_sagemaker.api_rules import (
    ACCOUNT_BURST_LIMIT,
    ACCOUNT_RATE_LIMIT,
    DEFAULT_CONTENT_TYPES,
    ROUTE_NAME,
    check_media_type,
    is_binary_media_type,
    web_acl_region,
)
from safe_sagemaker.nag import acknowledge

_CONTENT_TYPE_HEADER = "method.request.header.Content-Type"

# Request body validation treats a missing body as "{}" (an empty object), so "at least one
# property" is what makes the body required. Scalars are allowed: some containers take a bare
# JSON string. Only application/json gets a model: API Gateway models are JSON schemas, and a
# content type without a model is not validated at all.
_NON_EMPTY_JSON = apigw.JsonSchema(
    schema=apigw.JsonSchemaVersion.DRAFT4,
    title="NonEmptyJsonDocument",
    description="Any JSON document except an empty object or array (API Gateway sees an "
    "empty body as {}).",
    type=[
        apigw.JsonSchemaType.OBJECT,
        apigw.JsonSchemaType.ARRAY,
        apigw.JsonSchemaType.STRING,
        apigw.JsonSchemaType.NUMBER,
        apigw.JsonSchemaType.BOOLEAN,
    ],
    min_properties=1,
    min_items=1,
)

# The same error shape as the front end's own errors ({"message", "requestId"}), so a caller
# parses one format whether API Gateway or the Lambda refused the request.
# messageString is API Gateway's own JSON-quoted message; validationErrorString is left out
# because it quotes schema types unescaped (it reaches execution logs when they are on).
_ERROR_TEMPLATE = '{"message":$context.error.messageString,"requestId":"$context.requestId"}'


class ApiAuth(enum.Enum):
    """How callers authenticate. Every method requires one of them; none is ever open."""

    IAM = "iam"
    """SigV4-signed requests from principals allowed ``execute-api:Invoke`` (``grant_invoke``)."""
    API_KEY = "api_key"
    """An ``x-api-key`` header with a key of the API's usage plan (quota and throttling)."""


class PredictionApi(Construct):
    """Regional REST API: ``POST /models/<model>/invocations`` -> the model's ``live`` alias.

    One resource per model with a literal path, so each route has its own Lambda permission,
    metrics and IAM resource; no ``{model}`` path parameter can reach a model's function.

    What is enforced where (a request passes them in this order):

    ==========================  ================================================================
    Where                       What
    ==========================  ================================================================
    WAF (``web_acl_arn``)       whatever rules the given web ACL holds (optional)
    API Gateway                 auth on every method (SigV4 or API key + usage plan), stage
                                throttling (429), ``Content-Type`` header present (400),
                                ``application/json`` bodies well-formed and non-empty (400),
                                body at most 10 MB (413)
    Lambda service              the whole proxy event (body, base64 for binary types, headers,
                                request context) at most 6 MB, or the invoke fails before the
                                function runs; so binary bodies stop near 4.5 MB
    front-end function          ``Content-Type`` in the model's allowlist (415), non-empty and
                                well-formed body for every type (400), decoded body at most
                                SageMaker's 6 MB (413)
    ==========================  ================================================================

    API Gateway cannot reject an unlisted content type on a proxy integration: request models
    only validate bodies whose content type has a model, and ``passthrough_behavior`` applies
    to non-proxy integrations only. The allowlist check is therefore the function's 415.
    ``allowed_content_types`` matters here for the binary ones: they are registered as binary
    media types so that their bodies reach the function base64-encoded instead of mangled, and
    a binary model response is returned as binary when the caller's ``Accept`` is one of them.

    API Gateway writes both the JSON access logs (always on) and the optional execution logs
    (ERROR level, never request or response data) with the account-wide API Gateway CloudWatch
    Logs role; without it in the account's settings the stage fails to deploy. Either the
    account has it already (it is set once per account and region) or ``cloud_watch_role``
    creates it.

    Created resources: ``rest_api`` (with ``stage``), ``access_log_group``,
    ``request_validator``, ``json_body_model``, ``methods`` (by model), ``usage_plan`` and
    ``api_key`` (``API_KEY`` auth only), ``web_acl_association`` (with ``web_acl_arn``).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        routes: Mapping[str, lambda_.IFunction],
        auth: ApiAuth = ApiAuth.IAM,
        allowed_content_types: Sequence[str] = DEFAULT_CONTENT_TYPES,
        throttling_rate_limit: float = 100,
        throttling_burst_limit: int = 200,
        usage_plan_throttle: apigw.ThrottleSettings | None = None,
        usage_plan_quota: apigw.QuotaSettings | None = None,
        access_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        access_log_encryption_key: kms.IKey | None = None,
        access_log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        execution_logging: bool = False,
        cloud_watch_role: bool = False,
        web_acl_arn: str | None = None,
        invoke_accounts: Sequence[str] = (),
        detailed_metrics: bool = True,
        stage_name: str = "v1",
        rest_api_name: str | None = None,
    ) -> None:
        """
        :param routes: model name -> the function (normally its ``live`` alias) serving
            ``POST /models/<model>/invocations``. At least one.
        :param auth: how callers authenticate. Default: ``ApiAuth.IAM``.
        :param allowed_content_types: request media types any route accepts; the non-text ones
            are registered as binary media types. Default: application/json and text/csv.
        :param throttling_rate_limit: stage-wide steady requests/second. Default: 100.
        :param throttling_burst_limit: stage-wide burst. Default: 200.
        :param usage_plan_throttle: per-key rate and burst of the usage plan (``API_KEY`` auth
            only). Default: the stage limits.
        :param usage_plan_quota: per-key request quota (``API_KEY`` auth only). Default: none.
        :param access_log_retention: retention of the access log group. Default: one month.
        :param access_log_encryption_key: KMS key of the access log group; its policy must let
            ``logs.<region>.amazonaws.com`` use it. Default: CloudWatch Logs' own encryption.
        :param access_log_removal_policy: fate of the access logs when the API is removed.
            Default: ``RETAIN``.
        :param execution_logging: ERROR-level execution logs without request/response data.
            Default: off.
        :param cloud_watch_role: create the account-wide API Gateway CloudWatch Logs role and
            set it in the account settings (one per account and region). Default: false.
        :param web_acl_arn: regional WAFv2 web ACL to associate with the stage. Default: none.
        :param invoke_accounts: other AWS accounts whose principals may call the models' routes
            (IAM auth), as far as their own IAM policies allow: a resource policy on the API,
            e.g. for the delivery pipeline's smoke test from its tooling account. Default: none
            (no resource policy: this account's principals with an IAM grant only).
        :param detailed_metrics: per-route CloudWatch metrics, needed by ``metric_*(model=...)``.
            Default: true.
        :param stage_name: the stage, first segment of every path. Default: ``v1``.
        :param rest_api_name: the API's name (the ``ApiName`` metric dimension). Default: a
            name unique to this construct's path, so environments never share metrics.
        """
        super().__init__(scope, construct_id)
        if not routes:
            raise ValueError("routes must name at least one model")
        for model in routes:
            if not ROUTE_NAME.match(model):
                raise ValueError(
                    f"route {model!r} must be lowercase letters, digits and inner hyphens "
                    "(it becomes a URL path segment)"
                )
        content_types = tuple(dict.fromkeys(map(check_media_type, allowed_content_types)))
        if not content_types:
            raise ValueError("allowed_content_types must name at least one media type")
        _check_throttle("throttling", throttling_rate_limit, throttling_burst_limit)
        if auth is not ApiAuth.API_KEY and (usage_plan_throttle or usage_plan_quota):
            raise ValueError("usage_plan_throttle and usage_plan_quota need auth=ApiAuth.API_KEY")
        if invoke_accounts and auth is not ApiAuth.IAM:
            raise ValueError(
                "invoke_accounts trusts other accounts' IAM principals: needs auth=IAM"
            )
        bad = [a for a in invoke_accounts if not (len(a) == 12 and a.isdigit())]
        if bad:
            raise ValueError(f"invoke_accounts must be 12-digit AWS account ids, not {bad}")
        if usage_plan_throttle is not None:
            _check_throttle(
                "usage_plan_throttle",
                usage_plan_throttle.rate_limit,
                usage_plan_throttle.burst_limit,
            )
        if web_acl_arn is not None and not Token.is_unresolved(web_acl_arn):
            region = web_acl_region(web_acl_arn)
            stack_region = Stack.of(self).region
            if not Token.is_unresolved(stack_region) and region != stack_region:
                raise ValueError(
                    f"web ACL {web_acl_arn!r} is in {region}, the API in {stack_region}; "
                    "a regional web ACL protects only APIs of its own region"
                )

        self.auth = auth
        self.stage_name = stage_name
        self.allowed_content_types = content_types
        self.access_log_group = logs.LogGroup(
            self,
            "AccessLogs",
            retention=access_log_retention,
            encryption_key=access_log_encryption_key,
            removal_policy=access_log_removal_policy,
        )
        self.rest_api = apigw.RestApi(
            self,
            "Resource",
            rest_api_name=rest_api_name or Names.unique_resource_name(self, separator="-"),
            description="Predictions: POST /models/<model>/invocations",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            binary_media_types=[t for t in content_types if is_binary_media_type(t)] or None,
            cloud_watch_role=cloud_watch_role,
            policy=_invoke_policy(invoke_accounts, stage_name) if invoke_accounts else None,
            default_method_options=apigw.MethodOptions(
                authorization_type=(
                    apigw.AuthorizationType.IAM
                    if auth is ApiAuth.IAM
                    else apigw.AuthorizationType.NONE
                ),
                api_key_required=auth is ApiAuth.API_KEY,
            ),
            deploy_options=apigw.StageOptions(
                stage_name=stage_name,
                throttling_rate_limit=throttling_rate_limit,
                throttling_burst_limit=throttling_burst_limit,
                tracing_enabled=True,
                metrics_enabled=detailed_metrics,
                logging_level=(
                    apigw.MethodLoggingLevel.ERROR
                    if execution_logging
                    else apigw.MethodLoggingLevel.OFF
                ),
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(self.access_log_group),
                access_log_format=_access_log_format(),
            ),
        )
        # Which outputs a stack exports is the app's choice (the RestApi adds a hashed one).
        self.rest_api.node.try_remove_child("Endpoint")
        self.stage = self.rest_api.deployment_stage
        self.url = self.rest_api.url
        self._detailed_metrics = detailed_metrics

        self.request_validator = self.rest_api.add_request_validator(
            "RequestValidator", validate_request_body=True, validate_request_parameters=True
        )
        self.json_body_model: apigw.Model | None = None
        request_models: dict[str, apigw.IModel] = {}
        if "application/json" in content_types:
            self.json_body_model = self.rest_api.add_model(
                "JsonBodyModel", content_type="application/json", schema=_NON_EMPTY_JSON
            )
            request_models["application/json"] = self.json_body_model

        self.methods: dict[str, apigw.Method] = {}
        models_resource = self.rest_api.root.add_resource("models")
        for model, function in routes.items():
            resource = models_resource.add_resource(model).add_resource("invocations")
            self.methods[model] = resource.add_method(
                "POST",
                # scope_permission_to_method (the default) limits the Lambda permission to this
                # API, stage, method and path; test invokes from the console are not needed.
                apigw.LambdaIntegration(function, proxy=True, allow_test_invoke=False),
                request_parameters={_CONTENT_TYPE_HEADER: True},
                request_validator=self.request_validator,
                request_models=request_models or None,
            )

        for response_id, response_type in (
            ("Default4XX", apigw.ResponseType.DEFAULT_4_XX),
            ("Default5XX", apigw.ResponseType.DEFAULT_5_XX),
        ):
            self.rest_api.add_gateway_response(
                response_id, type=response_type, templates={"application/json": _ERROR_TEMPLATE}
            )

        self.usage_plan: apigw.UsagePlan | None = None
        self.api_key: apigw.IApiKey | None = None
        if auth is ApiAuth.API_KEY:
            self.usage_plan = self.rest_api.add_usage_plan(
                "UsagePlan",
                description="Per-key throttling and quota of the prediction API",
                throttle=usage_plan_throttle
                or apigw.ThrottleSettings(
                    rate_limit=throttling_rate_limit, burst_limit=throttling_burst_limit
                ),
                quota=usage_plan_quota,
            )
            self.usage_plan.add_api_stage(stage=self.stage)
            # API Gateway generates the key's value; it never appears in the template.
            self.api_key = self.rest_api.add_api_key("ApiKey")
            self.usage_plan.add_api_key(self.api_key)

        self.web_acl_association: wafv2.CfnWebACLAssociation | None = None
        if web_acl_arn is not None:
            self.web_acl_association = wafv2.CfnWebACLAssociation(
                self,
                "WebAclAssociation",
                resource_arn=self.stage.stage_arn,
                web_acl_arn=web_acl_arn,
            )

        self._acknowledge_nag_findings(auth, execution_logging, web_acl_arn, cloud_watch_role)

    # -- routes and access -------------------------------------------------------------------

    @property
    def models(self) -> tuple[str, ...]:
        """The model names with a route."""
        return tuple(self.methods)

    def route_path(self, model: str) -> str:
        """The route of ``model`` below the stage, e.g. ``/models/fraud-detector/invocations``."""
        self._method(model)
        return f"/models/{model}/invocations"

    def route_url(self, model: str) -> str:
        """The full HTTPS URL callers POST to for ``model``."""
        return self.rest_api.url_for_path(self.route_path(model))

    def grant_invoke(self, grantee: iam.IGrantable, model: str | None = None) -> iam.Grant:
        """Allow ``grantee`` to call ``model``'s route, or every route (``execute-api:Invoke``).

        Only IAM auth checks this permission, so asking for it under API key auth is an error:
        give such a caller the API key instead.
        """
        if self.auth is not ApiAuth.IAM:
            raise ValueError(
                "grant_invoke has no effect with auth=ApiAuth.API_KEY; give the caller the API key"
            )
        models = [model] if model is not None else list(self.methods)
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["execute-api:Invoke"],
            resource_arns=[
                self.rest_api.arn_for_execute_api("POST", self.route_path(m), self.stage_name)
                for m in models
            ],
        )

    # -- metrics (AWS/ApiGateway, this stage; per route with ``model``) -----------------------

    def metric(self, metric_name: str, model: str | None = None, **props: Any) -> cloudwatch.Metric:
        """``metric_name`` of this stage, or of ``model``'s route (needs detailed metrics)."""
        props.setdefault("period", Duration.minutes(1))
        if model is None:
            return self.stage.metric(metric_name, **props)
        if not self._detailed_metrics:
            raise ValueError(f"per-route metrics of {model!r} need detailed_metrics=True")
        return self._method(model).metric(metric_name, self.stage, **props)

    def metric_count(self, model: str | None = None, **props: Any) -> cloudwatch.Metric:
        """Requests (``Count``), summed per period."""
        return self.metric("Count", model, **{"statistic": "Sum", **props})

    def metric_client_error(self, model: str | None = None, **props: Any) -> cloudwatch.Metric:
        """``4XXError`` responses (auth, validation, throttling, the function's 4xx), summed."""
        return self.metric("4XXError", model, **{"statistic": "Sum", **props})

    def metric_server_error(self, model: str | None = None, **props: Any) -> cloudwatch.Metric:
        """``5XXError`` responses (the function's 5xx and integration failures), summed."""
        return self.metric("5XXError", model, **{"statistic": "Sum", **props})

    def metric_latency(self, model: str | None = None, **props: Any) -> cloudwatch.Metric:
        """``Latency`` (request in to response out), p99 unless ``statistic`` says e.g. p50."""
        return self.metric("Latency", model, **{"statistic": "p99", **props})

    def metric_integration_latency(
        self, model: str | None = None, **props: Any
    ) -> cloudwatch.Metric:
        """``IntegrationLatency`` (time in the function), p99 unless ``statistic`` says."""
        return self.metric("IntegrationLatency", model, **{"statistic": "p99", **props})

    # -- internals ----------------------------------------------------------------------------

    def _method(self, model: str) -> apigw.Method:
        try:
            return self.methods[model]
        except KeyError:
            raise ValueError(
                f"no route for model {model!r}; routes: {', '.join(self.methods)}"
            ) from None

    def _acknowledge_nag_findings(
        self, auth: ApiAuth, execution_logging: bool, web_acl_arn: str | None, role: bool
    ) -> None:
        for method in self.methods.values():
            acknowledge(
                method,
                "AwsSolutions-COG4",
                "callers are services, not end users: they authenticate with SigV4 (IAM) or an "
                "API key of the usage plan, so there is no Cognito user pool to authorize against",
            )
            if auth is ApiAuth.API_KEY:
                acknowledge(
                    method,
                    "AwsSolutions-APIG4",
                    "API key auth was chosen in the environment config (api.auth); every method "
                    "requires a key of the usage plan, which throttles and caps each caller",
                )
        if web_acl_arn is None:
            acknowledge(
                self.stage,
                ("AwsSolutions-APIG3", "NIST.800.53.R5-APIGWAssociatedWithWAF"),
                "no web ACL is configured for this environment (api.waf_web_acl_arn); every "
                "method requires authentication and the stage is throttled",
            )
        acknowledge(
            self.stage,
            "NIST.800.53.R5-APIGWCacheEnabledAndEncrypted",
            "every request is a fresh inference on the caller's payload (POST): a cached "
            "answer would be a stale or another caller's prediction, so the stage has no cache "
            "to encrypt",
        )
        acknowledge(
            self.stage,
            "NIST.800.53.R5-APIGWSSLEnabled",
            "a client certificate authenticates API Gateway to an HTTP backend; the only "
            "integration here is Lambda (AWS_PROXY), invoked over AWS's signed API, to which "
            "a client certificate does not apply",
        )
        if not execution_logging:
            acknowledge(
                self.stage,
                ("AwsSolutions-APIG6", "NIST.800.53.R5-APIGWExecutionLoggingEnabled"),
                "execution logging needs the account-wide API Gateway CloudWatch role, which this "
                "environment neither has nor creates (api.execution_logging, "
                "api.create_cloudwatch_role); JSON access logs record every request",
            )
        if role:
            cloud_watch_role = self.rest_api.node.find_child("CloudWatchRole")
            acknowledge(
                cloud_watch_role,
                "AwsSolutions-IAM4",
                "AmazonAPIGatewayPushToCloudWatchLogs is the policy AWS documents for the "
                "account-wide role API Gateway logs with (execution and access logs of every "
                "API in the account and region): log group and stream creation, writes, and "
                "reads (Describe*, GetLogEvents, FilterLogEvents) on all log groups. Only API "
                "Gateway can assume the role; no principal of ours uses it",
                findings=(
                    "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
                    "AmazonAPIGatewayPushToCloudWatchLogs",
                ),
            )


def _check_throttle(what: str, rate: float | None, burst: float | None) -> None:
    if rate is not None and not 0 < rate <= ACCOUNT_RATE_LIMIT:
        raise ValueError(
            f"{what} rate limit {rate} must be above 0 and at most the account's "
            f"{ACCOUNT_RATE_LIMIT}"
        )
    if burst is not None and not 0 <= burst <= ACCOUNT_BURST_LIMIT:
        raise ValueError(
            f"{what} burst limit {burst} must be 0 to the account's {ACCOUNT_BURST_LIMIT}"
        )


def _access_log_format() -> apigw.AccessLogFormat:
    field = apigw.AccessLogField
    # Who called, what happened and where the time went; never bodies or the API key itself.
    # Values are quoted: fields API Gateway has no value for log "-", which is not JSON.
    record = {
        "requestId": field.context_request_id(),
        "extendedRequestId": field.context_extended_request_id(),
        "requestTime": field.context_request_time(),
        "ip": field.context_identity_source_ip(),
        "userAgent": field.context_identity_user_agent(),
        "caller": field.context_identity_caller(),
        "userArn": field.context_identity_user_arn(),
        "apiKeyId": field.context_identity_api_key_id(),
        "httpMethod": field.context_http_method(),
        "resourcePath": field.context_resource_path(),
        "protocol": field.context_protocol(),
        "status": field.context_status(),
        "responseLength": field.context_response_length(),
        "responseLatency": field.context_response_latency(),
        "integrationStatus": field.context_integration_status(),
        "integrationLatency": field.context_integration_latency(),
        "integrationError": field.context_integration_error_message(),
        "errorMessage": field.context_error_message(),
        "errorResponseType": field.context_error_response_type(),
        "wafStatus": field.context_waf_response_code(),
        "xrayTraceId": field.context_xray_trace_id(),
    }
    return apigw.AccessLogFormat.custom(json.dumps(record, separators=(",", ":")))


def _invoke_policy(accounts: Sequence[str], stage_name: str) -> iam.PolicyDocument:
    """The API's resource policy: the models' routes (POST on the stage) to principals of
    ``accounts`` their own IAM policies allow. With IAM auth a principal of this account still
    needs only its own IAM grant; another account's needs both."""
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                actions=["execute-api:Invoke"],
                principals=[iam.AccountPrincipal(account) for account in accounts],
                # API Gateway expands execute-api:/ to this API's own ARN (the API's id cannot
                # appear in its own policy).
                resources=[f"execute-api:/{stage_name}/POST/*"],
            )
        ]
    )
