"""A regional WAFv2 web ACL for an API Gateway stage: AWS managed rule groups and a per-IP rate
limit, with its requests logged."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from safe_sagemaker.api_rules import WAF_MANAGED_RULE_GROUPS, WAF_MIN_RATE_LIMIT


class ApiWebAcl(Construct):
    """A web ACL that allows by default, blocks what the given AWS managed rule groups block,
    and blocks a source IP for as long as it sends more than ``rate_limit`` requests per 5
    minutes. Every rule publishes CloudWatch metrics and sampled requests; the requests are
    logged to a log group of its own (WAF requires the ``aws-waf-logs-`` name prefix).

    Created resources: ``web_acl`` (attribute ``web_acl_arn``), ``log_group``,
    ``logging_configuration``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        managed_rule_groups: Sequence[str] = WAF_MANAGED_RULE_GROUPS,
        rate_limit: int = 2000,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_MONTH,
        log_encryption_key: kms.IKey | None = None,
        log_removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        """
        :param managed_rule_groups: names of AWS managed rule groups (vendor ``AWS``), in
            priority order. Default: the common rule set and known bad inputs.
        :param rate_limit: requests per source IP per 5 minutes above which that IP is
            blocked; at least 10. Default: 2000.
        :param log_retention: of the request log. Default: one month.
        :param log_encryption_key: Default: CloudWatch Logs' own encryption.
        :param log_removal_policy: Default: ``RETAIN``.
        """
        super().__init__(scope, construct_id)
        if rate_limit < WAF_MIN_RATE_LIMIT:
            raise ValueError(f"rate_limit must be at least {WAF_MIN_RATE_LIMIT} (WAF's minimum)")
        if len(set(managed_rule_groups)) != len(managed_rule_groups):
            raise ValueError("managed_rule_groups lists a rule group twice")
        metric = f"{Stack.of(self).stack_name}-api"

        def visibility(name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True,
                metric_name=f"{metric}-{name}",
                sampled_requests_enabled=True,
            )

        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=priority,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS", name=group
                    )
                ),
                visibility_config=visibility(group),
            )
            for priority, group in enumerate(managed_rule_groups)
        ]
        rules.append(
            wafv2.CfnWebACL.RuleProperty(
                name="RatePerSourceIp",
                priority=len(rules),
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                        limit=rate_limit, aggregate_key_type="IP"
                    )
                ),
                visibility_config=visibility("RatePerSourceIp"),
            )
        )
        self.web_acl = wafv2.CfnWebACL(
            self,
            "Resource",
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=rules,
            visibility_config=visibility("WebAcl"),
        )
        self.web_acl_arn = self.web_acl.attr_arn
        self.log_group = logs.LogGroup(
            self,
            "Log",
            log_group_name=f"aws-waf-logs-{metric}",
            retention=log_retention,
            encryption_key=log_encryption_key,
            removal_policy=log_removal_policy,
        )
        self.logging_configuration = wafv2.CfnLoggingConfiguration(
            self,
            "Logging",
            resource_arn=self.web_acl_arn,
            log_destination_configs=[self.log_group.log_group_arn],
        )
