"""The delivery pipeline: source -> synth + tests -> each environment in order, with a smoke
test after a stage and a manual approval before one where the config asks for them."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_cdk import Environment, Stack, pipelines
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codecommit as codecommit
from aws_cdk import aws_iam as iam
from constructs import Construct

from safe_sagemaker.config import EnvironmentConfig
from safe_sagemaker.nag import acknowledge, wildcard_resources
from safe_sagemaker.parts import split_into_parts
from safe_sagemaker.pipeline.approved_packages import PACKAGES_CONTEXT, registry_models
from safe_sagemaker.pipeline.change_summary import APPROVAL_LIMIT, DEFAULT_LIMIT
from safe_sagemaker.pipeline.config import (
    PipelineConfig,
    SmokeTestConfig,
    SourceConfig,
    StageConfig,
)
from safe_sagemaker.pipeline.model_approval_trigger import ModelApprovalTrigger
from safe_sagemaker.pipeline.serving_stage import ServingStage

# The README's test command: what every commit must pass before anything deploys.
TEST_COMMAND = "make test"
SYNTH_COMMAND = "npx --no-install cdk synth --quiet"
DEFAULT_QUALIFIER = "hnb659fds"
# CodePipeline takes 1,000 characters in an action's configuration value, and a smoke test
# reads two of the stage's outputs there (its URL and endpoint name), each entry up to about
# 190 characters with the longest names: two tests to a step (four would take 1,237).
SMOKE_TESTS_PER_STEP = 2
# What `make install` needs (Python 3.11+, Node 20+), pinned rather than the image's defaults.
BUILD_IMAGE = codebuild.LinuxBuildImage.STANDARD_7_0
RUNTIME_VERSIONS = {"python": "3.12", "nodejs": "20"}
# What `safe-sagemaker preview` imports (requirements.txt pins them); it needs no CDK.
PREVIEW_PACKAGES = ("boto3", "pydantic", "click", "rich", "cfn-lint")
# What Bucket.grant_read_write and Key.grant_encrypt_decrypt give the pipeline's roles on the
# artifacts bucket and its key.
ARTIFACT_GRANT_ACTIONS = (
    "s3:Abort*",
    "s3:DeleteObject*",
    "s3:GetBucket*",
    "s3:GetObject*",
    "s3:List*",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
)


class PipelineStack(Stack):
    """A self-mutating CDK Pipeline (``pipeline``) that deploys ``environments`` as stages.

    Created resources: ``pipeline`` (``pipelines.CodePipeline``; its artifacts bucket is
    KMS-encrypted with a rotated key, ``cross_account_keys``, so stages in other accounts can
    read it), ``source``, ``synth``, ``stages`` (``ServingStage`` by environment name),
    ``smoke_tests``, ``change_summaries`` and ``approvals`` (steps by environment name),
    ``trigger`` (``ModelApprovalTrigger``, when a model registry is configured).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: PipelineConfig,
        environments: Mapping[str, EnvironmentConfig],
        approved_packages: Mapping[str, str] | None = None,
        bootstrap_qualifier: str = DEFAULT_QUALIFIER,
        cli_version: str | None = None,
        **kwargs: Any,
    ) -> None:
        """:param environments: every environment by name; the config's stages pick from them.
        :param approved_packages: the model package each registry group delivers (group ->
            ARN), recorded in the template and the approval text. Default: none.
        :param bootstrap_qualifier: the CDK bootstrap qualifier of the target accounts.
            Default: CDK's, ``hnb659fds``.
        :param cli_version: the CDK CLI the self-mutation and asset steps install. Default: the
            newest 2.x at run time (the app passes the version package.json pins)."""
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            description=f"Delivery pipeline {config.pipeline_name}: commit to production",
            **kwargs,
        )
        self.config = config
        self.approved_packages = dict(approved_packages or {})
        self.bootstrap_qualifier = bootstrap_qualifier
        self.source = self._source(config.source)
        self.synth = self._synth_step(config)
        self.pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=config.pipeline_name,
            synth=self.synth,
            cli_version=cli_version,
            self_mutation=True,
            cross_account_keys=True,
            enable_key_rotation=True,
            # One CodeBuild project publishes every asset instead of one project per asset.
            publish_assets_in_parallel=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                build_environment=codebuild.BuildEnvironment(build_image=BUILD_IMAGE),
                partial_build_spec=codebuild.BuildSpec.from_object(
                    {"phases": {"install": {"runtime-versions": RUNTIME_VERSIONS}}}
                ),
            ),
        )
        self.stages: dict[str, ServingStage] = {}
        self.smoke_tests: dict[str, list[pipelines.CodeBuildStep]] = {}
        self.approvals: dict[str, pipelines.ManualApprovalStep] = {}
        self.change_summaries: dict[str, pipelines.CodeBuildStep] = {}
        self._smoke_routes: dict[tuple[str, str], list[str]] = {}
        for stage_config in config.stages:
            self._add_stage(stage_config, environments[stage_config.environment])
        # Built now, not at synth, so the generated roles can be acknowledged below.
        self.pipeline.build_pipeline()
        self._acknowledge_generated_policies()
        self.trigger: ModelApprovalTrigger | None = None
        if config.model_registry is not None:
            self.trigger = ModelApprovalTrigger(
                self,
                "ModelApprovalTrigger",
                pipeline=self.pipeline.pipeline,
                model_package_groups=config.model_registry.model_package_groups,
            )

    def _acknowledge_generated_policies(self) -> None:
        """cdk-nag findings on what CDK Pipelines generates, each on the narrowest construct."""
        pipeline = self.pipeline.pipeline
        bucket = pipeline.artifact_bucket
        acknowledge(
            self.pipeline,
            "AwsSolutions-IAM5",
            "CDK Pipelines grants each action and CodeBuild role read (and the source, synth and "
            "pipeline roles write) on the pipeline's own artifacts bucket and its KMS key only; "
            "the wildcards are S3/KMS action families and the objects of that one bucket",
            findings=(
                *(f"Action::{action}" for action in ARTIFACT_GRANT_ACTIONS),
                *wildcard_resources(self, [f"{bucket.bucket_arn}/*"]),
            ),
        )
        acknowledge(
            bucket,
            "AwsSolutions-S1",
            "the artifacts bucket holds transient pipeline artifacts only, KMS-encrypted, "
            "SSL-only and written by the pipeline's roles; CloudTrail records who read them",
        )
        for project in _projects(self.pipeline):
            # CodeBuild's own log group and report groups of this project, named after it.
            acknowledge(
                project.role or project,
                "AwsSolutions-IAM5",
                "CodeBuild writes the logs and test reports of this project only: its log "
                "group's streams and report groups named after the project",
                findings=wildcard_resources(
                    self,
                    [
                        f"arn:{self.partition}:logs:{self.region}:{self.account}:log-group:"
                        f"/aws/codebuild/{project.project_name}:*",
                        f"arn:{self.partition}:codebuild:{self.region}:{self.account}:"
                        f"report-group/{project.project_name}-*",
                    ],
                ),
            )
        for (stage_name, step_id), routes in self._smoke_routes.items():
            acknowledge(
                pipeline.node.find_child(stage_name).node.find_child(step_id),
                "AwsSolutions-IAM5",
                "the smoke test may call only the tested models' POST routes of the stage's API; "
                "the API id is made by the stage's stack, which this stack cannot reference",
                findings=tuple(f"Resource::{route}" for route in routes),
            )
        self_mutation = self.pipeline.self_mutation_project
        acknowledge(
            self_mutation.role or self_mutation,
            "AwsSolutions-IAM5",
            "CDK Pipelines' self-mutation runs cdk deploy of this stack: it may assume only the "
            "CDK bootstrap roles (tag aws-cdk:bootstrap-role) and reads stack and bucket "
            "metadata (DescribeStacks, ListBucket) before it does; generated by aws-cdk-lib",
            findings=(
                "Resource::*",
                f"Resource::arn:*:iam::{self.account}:role/*",
            ),
        )
        # Absent only in an app without file assets (every serving stack has Lambda code).
        file_role = self.pipeline.node.find_child("Assets").node.find_child("FileRole")
        acknowledge(
            file_role,
            "AwsSolutions-IAM5",
            "CDK Pipelines' asset publishing role runs the asset CodeBuild projects it creates "
            "on demand (names unknown at synth) and publishes through the file-publishing "
            "bootstrap role; generated by aws-cdk-lib, which offers no narrower setting",
            findings=(
                "Resource::*",
                f"Resource::arn:{self.partition}:logs:{self.region}:{self.account}:"
                "log-group:/aws/codebuild/*",
                f"Resource::arn:{self.partition}:codebuild:{self.region}:{self.account}:"
                "report-group/*",
            ),
        )
        acknowledge(
            self.pipeline.synth_project.role or self.pipeline.synth_project,
            "AwsSolutions-IAM5",
            "sagemaker:ListModelPackages has no resource-level permissions (AWS requires *); "
            "the synth step lists the approved versions of the configured groups with it",
            findings=("Resource::*",),
        )

    def _source(self, source: SourceConfig) -> pipelines.CodePipelineSource:
        if source.connection is not None:
            return pipelines.CodePipelineSource.connection(
                source.connection.repository,
                source.branch,
                connection_arn=source.connection.connection_arn,
            )
        assert source.codecommit is not None
        repository = codecommit.Repository.from_repository_name(
            self, "Repository", source.codecommit.repository_name
        )
        return pipelines.CodePipelineSource.code_commit(repository, source.branch)

    def _synth_step(self, config: PipelineConfig) -> pipelines.CodeBuildStep:
        """Test, then synthesize. With a model registry, the latest approved version of each
        group is looked up first and passed to the app as context."""
        commands = [TEST_COMMAND]
        statements: list[iam.PolicyStatement] = []
        synth = SYNTH_COMMAND
        registry = config.model_registry
        if registry is not None:
            commands.append(_resolve_packages_command(registry.model_package_groups))
            synth += f' -c {PACKAGES_CONTEXT}="$APPROVED_MODEL_PACKAGES"'
            statements.append(
                iam.PolicyStatement(
                    # ListModelPackages supports no resource-level permissions: "*" is required.
                    actions=["sagemaker:ListModelPackages"],
                    resources=["*"],
                )
            )
        commands.append(synth)
        return pipelines.CodeBuildStep(
            "Synth",
            input=self.source,
            commands=commands,
            primary_output_directory="cdk.out",
            role_policy_statements=statements or None,
        )

    def _add_stage(self, stage_config: StageConfig, environment: EnvironmentConfig) -> None:
        name = environment.name.capitalize()
        # A smoke test signs with this account's role; an API of another account must trust it.
        account = environment.account or self.config.account
        trusted = (
            [self.config.account]
            if stage_config.smoke_tests and account != self.config.account
            else []
        )
        stage = ServingStage(self, name, config=environment, api_invoke_accounts=trusted)
        self.stages[environment.name] = stage
        pre: list[pipelines.Step] = []
        if stage_config.approval:
            summary = self._change_summary(stage)
            approval = pipelines.ManualApprovalStep(
                "Approve", comment=self._approval_text(stage, summary)
            )
            approval.add_step_dependency(summary)
            pre = [summary, approval]
            self.change_summaries[environment.name] = summary
            self.approvals[environment.name] = approval
        post: list[pipelines.Step] = []
        if stage_config.smoke_tests:
            smoke = [
                self._smoke_test(stage, part.construct_id, part.items)
                for part in split_into_parts(
                    list(enumerate(stage_config.smoke_tests)), SMOKE_TESTS_PER_STEP, "SmokeTest"
                )
            ]
            self.smoke_tests[environment.name] = smoke
            post = list(smoke)
        self.pipeline.add_stage(stage, pre=pre or None, post=post or None)

    def _target(self, stage: ServingStage) -> tuple[str, str]:
        """The account and region the stage's stack deploys to."""
        config = stage.config
        return config.account or self.config.account, config.region or self.config.region

    def _change_summary(self, stage: ServingStage) -> pipelines.CodeBuildStep:
        """The command-line tools' release preview of the stage's stack (as synthesized) against
        the deployed one, summarized in one line (``CHANGE_SUMMARY``) for the approval. It reads
        the deployed template through the target account's CDK lookup role (read-only), so it
        needs that role's trust (``--trust``)."""
        account, region = self._target(stage)
        lookup_role = self.format_arn(
            service="iam",
            region="",
            account=account,
            resource="role",
            resource_name=f"cdk-{self.bootstrap_qualifier}-lookup-role-{account}-{region}",
        )
        stack_name = stage.config.stack_name
        return pipelines.CodeBuildStep(
            "ChangeSummary",
            input=self.source,
            additional_inputs={"cdk.out": self.synth},
            install_commands=[
                # The tools without the CDK: the stack's template is already synthesized.
                f"pip install --quiet $(grep -E '^({'|'.join(PREVIEW_PACKAGES)})==' "
                "requirements.txt)",
                "pip install --quiet --no-deps -e .",
            ],
            commands=[
                preview_inputs_command(
                    f"cdk.out/{stage.artifact_id}",
                    stage.stack.template_file,
                    stack_name,
                    nested=stage.config.nested_model_stacks,
                ),
                f"aws configure set profile.target.role_arn {lookup_role}",
                # CodeBuild hands its role's credentials to the container as ECS does.
                "aws configure set profile.target.credential_source EcsContainer",
                # Exit 1 means risks were found: the approver reads them in the summary.
                f"safe-sagemaker --profile target --region {region} preview "
                f"--env {stage.config.name} --to preview --json > preview.json 2> preview.err"
                " || true",
                "cat preview.err",
                'export CHANGE_SUMMARY="$(python3 -m safe_sagemaker.pipeline.change_summary '
                'preview.json preview.err)"',
                'echo "$CHANGE_SUMMARY"',
            ],
            role_policy_statements=[
                iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[lookup_role])
            ],
        )

    def _approval_text(self, stage: ServingStage, summary: pipelines.CodeBuildStep) -> str:
        account, region = self._target(stage)
        config = stage.config
        return approval_text(
            f"Deploy {config.stack_name} to {account}/{region}.",
            [f"{m.name} -> {config.endpoint_name(m)}" for m in config.models],
            self._registry_versions(config),
            summary.exported_variable("CHANGE_SUMMARY"),
        )

    def _registry_versions(self, config: EnvironmentConfig) -> list[str]:
        """``churn-scorer 4 (newest approved)`` for each model of a registry group."""
        registry = self.config.model_registry
        groups = registry.model_package_groups if registry is not None else []
        return [
            f"{model.name} {package['version']} ("
            + (
                "newest approved"
                if self.approved_packages.get(package["group"]) == model.model_package_arn
                else f"pinned in {config.name}.json"
            )
            + ")"
            for model, package in registry_models(config, groups)
        ]

    def _smoke_test(
        self,
        stage: ServingStage,
        step_id: str,
        smoke_tests: Sequence[tuple[int, SmokeTestConfig]],
    ) -> pipelines.CodeBuildStep:
        """Signed requests through the stage's API; URLs and served endpoint names come from
        the stack's outputs (so a new model version changes no step of this stack's)."""
        stack = stage.stack
        account, region = self._target(stage)
        outputs = {}
        checks = []
        for index, smoke in smoke_tests:
            url, endpoint = f"SMOKE_URL_{index}", f"SMOKE_ENDPOINT_{index}"
            outputs[url] = stack.invoke_url_outputs[smoke.model]
            outputs[endpoint] = stack.endpoint_name_outputs[smoke.model]
            checks.append(
                {
                    "name": smoke.model,
                    "url_variable": url,
                    "endpoint_variable": endpoint,
                    "body": smoke.body,
                    "content_type": smoke.content_type,
                    "expect_status": smoke.expect_status,
                    "expect_json_keys": smoke.expect_json_keys,
                    "expect_body_contains": smoke.expect_body_contains,
                    "timeout_seconds": smoke.timeout_seconds,
                }
            )
        # The API's id is made by the stage's stack, which this stack cannot reference: the
        # grant names every API of the target account, but only the smoke-tested routes.
        routes = sorted(
            {
                self.format_arn(
                    service="execute-api",
                    account=account,
                    region=region,
                    resource=f"*/{stack.api.stage_name}/POST{stack.api.route_path(smoke.model)}",
                )
                for _, smoke in smoke_tests
            }
        )
        self._smoke_routes[(stage.config.name.capitalize(), step_id)] = routes
        return pipelines.CodeBuildStep(
            step_id,
            input=self.source,
            install_commands=['pip install --quiet "$(grep "^boto3==" requirements.txt)"'],
            # The library's source is under infra/; the script needs boto3 only.
            commands=[
                "PYTHONPATH=infra python3 -m safe_sagemaker.pipeline.smoke_test "
                '--checks "$SMOKE_CHECKS"'
            ],
            env={"SMOKE_CHECKS": json.dumps(checks, separators=(",", ":"))},
            env_from_cfn_outputs=outputs,
            role_policy_statements=[
                iam.PolicyStatement(actions=["execute-api:Invoke"], resources=routes)
            ],
        )


def preview_inputs_command(
    assembly: str, template_file: str, stack_name: str, *, nested: bool
) -> str:
    """Puts the stage's synthesized templates where ``preview --to preview`` reads them: the
    stack's under its stack name and, with ``nested_model_stacks``, its nested stacks' under the
    names its ``aws:asset:path`` metadata gives them (their names in the stage's assembly)."""
    command = (
        f"mkdir -p preview && cp {assembly}/{template_file} preview/{stack_name}.template.json"
    )
    if nested:
        command += f" && cp {assembly}/*.nested.template.json preview/"
    return command


def approval_text(head: str, models: Sequence[str], versions: Sequence[str], summary: str) -> str:
    """What the approver reads: ``head``, the models served (``name -> endpoint``), the change
    ``summary`` (a pipeline variable) and the Model Registry ``versions`` deployed. CodePipeline
    allows 1000 characters and the summary takes up to ``DEFAULT_LIMIT`` of them at run time,
    so the two lists share the rest: the versions up to half of it, each list ending in "and N
    more" when it is longer."""
    versions_part = " Model Registry versions: {}." if versions else ""
    fixed = len(head) + len(" Serves . Changes: ") + len(versions_part.format(""))
    room = APPROVAL_LIMIT - DEFAULT_LIMIT - fixed
    listed_versions = _listing(versions, room // 2, "versions") if versions else ""
    listed_models = _listing(models, room - len(listed_versions), "models")
    return f"{head} Serves {listed_models}. Changes: {summary}" + versions_part.format(
        listed_versions
    )


def _listing(items: Sequence[str], room: int, noun: str = "models") -> str:
    """``items`` joined by commas within ``room`` characters, those left out counted:
    ``a, b and 3 more``; else ``N <noun>``."""
    for count in range(len(items), 0, -1):
        rest = len(items) - count
        text = ", ".join(items[:count]) + (f" and {rest} more" if rest else "")
        if len(text) <= room:
            return text
    return f"{len(items)} {noun}"


def _projects(scope: Construct) -> list[codebuild.Project]:
    return [child for child in scope.node.find_all() if isinstance(child, codebuild.Project)]


def _resolve_packages_command(groups: Sequence[str]) -> str:
    """A shell command setting ``APPROVED_MODEL_PACKAGES`` to ``group=arn,...``: the newest
    approved version of each group (groups without one are left out, so the pinned version
    applies)."""
    names = " ".join(groups)
    return (
        'APPROVED_MODEL_PACKAGES=""; '
        f"for group in {names}; do "
        'arn=$(aws sagemaker list-model-packages --model-package-group-name "$group" '
        "--model-approval-status Approved --sort-by CreationTime --sort-order Descending "
        "--max-results 1 --query 'ModelPackageSummaryList[0].ModelPackageArn' --output text); "
        'if [ -n "$arn" ] && [ "$arn" != None ]; then '
        'APPROVED_MODEL_PACKAGES="$APPROVED_MODEL_PACKAGES${APPROVED_MODEL_PACKAGES:+,}'
        '$group=$arn"; '
        "fi; done; "
        'echo "approved model packages: ${APPROVED_MODEL_PACKAGES:-none (pinned versions apply)}"'
    )
