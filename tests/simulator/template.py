"""What a rollout of one model is, read from a synthesized template: never declared twice.

The deployment group's configuration (how the weights move), its alarms (with their metric
math), the alias's hooks and the environment of every function come from the template, with
CloudFormation's intrinsics resolved the way a deploy would resolve them (the simulator picks
the physical names and the published version numbers).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PATH = "aws:cdk:path"
ACCOUNT, REGION, PARTITION = "123456789012", "us-east-1", "aws"
_PREDEFINED = re.compile(
    r"CodeDeployDefault\.Lambda(?:(AllAtOnce)|Canary(\d+)Percent(\d+)Minutes?|"
    r"Linear(\d+)PercentEvery(\d+)Minutes?)"
)


@dataclass(frozen=True)
class ShiftPlan:
    """How CodeDeploy moves the alias: (share of traffic on the new version, seconds it stays
    there before the next step), ending at 1.0. From the configuration's name, as AWS's
    predefined configurations define them."""

    name: str
    steps: tuple[tuple[float, float], ...]

    @classmethod
    def from_config_name(cls, name: str) -> ShiftPlan:
        match = _PREDEFINED.fullmatch(name)
        if match is None:
            raise ValueError(f"deployment config {name!r} is not a predefined Lambda one")
        if match.group(1):
            return cls(name, ((1.0, 0.0),))
        if match.group(2):
            share, minutes = int(match.group(2)) / 100, int(match.group(3))
            return cls(name, ((share, minutes * 60.0), (1.0, 0.0)))
        step, minutes = int(match.group(4)) / 100, int(match.group(5))
        count = round(1 / step)
        return cls(
            name,
            tuple(
                (min(1.0, step * (i + 1)), minutes * 60.0 if i + 1 < count else 0.0)
                for i in range(count)
            ),
        )


class Resolver:
    """Resolves ``Ref``, ``Fn::GetAtt``, ``Fn::Join`` and pseudo parameters with the simulated
    deploy's physical names and version numbers."""

    def __init__(self, physical: Mapping[str, str], versions: Mapping[str, str]) -> None:
        self.physical = {
            "AWS::AccountId": ACCOUNT,
            "AWS::Region": REGION,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": "amazonaws.com",
            **physical,
        }
        self.versions = versions

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.physical.get(argument, argument)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument
                if attribute == "Version":
                    return self.versions[logical_id]
                if attribute == "Arn":
                    name = self.physical.get(logical_id, logical_id)
                    return f"arn:{PARTITION}:sim:{REGION}:{ACCOUNT}:{name}"
                raise ValueError(f"GetAtt {logical_id}.{attribute} is not simulated")
            if key == "Fn::Join":
                separator, parts = argument
                return separator.join(str(self.resolve(part)) for part in parts)
        return {key: self.resolve(item) for key, item in value.items()}


@dataclass(frozen=True)
class ModelRollout:
    """One model's rollout machinery in a template."""

    template: Mapping[str, Any]
    model: str
    function_id: str
    version_id: str
    alias_id: str
    group_id: str
    pre_hook_id: str
    post_hook_id: str

    @classmethod
    def of(cls, template: Mapping[str, Any], model: str) -> ModelRollout:
        resources = template["Resources"]

        def find(type_name: str, path_suffix: str) -> str:
            [logical_id] = [
                logical_id
                for logical_id, resource in resources.items()
                if resource["Type"] == type_name
                and resource.get("Metadata", {}).get(PATH, "").endswith(f"/{model}/{path_suffix}")
            ]
            return logical_id

        alias_id = find("AWS::Lambda::Alias", "Frontend/Alias/Resource")
        update = resources[alias_id]["UpdatePolicy"]["CodeDeployLambdaAliasUpdate"]
        return cls(
            template=template,
            model=model,
            function_id=find("AWS::Lambda::Function", "Frontend/Function/Resource/Resource"),
            version_id=resources[alias_id]["Properties"]["FunctionVersion"]["Fn::GetAtt"][0],
            alias_id=alias_id,
            group_id=update["DeploymentGroupName"]["Ref"],
            pre_hook_id=update["BeforeAllowTrafficHook"]["Ref"],
            post_hook_id=update["AfterAllowTrafficHook"]["Ref"],
        )

    def resource(self, logical_id: str) -> dict[str, Any]:
        resource: dict[str, Any] = self.template["Resources"][logical_id]
        return resource

    def environment(self, function_id: str) -> dict[str, str]:
        props = self.resource(function_id)["Properties"]
        return dict(props.get("Environment", {}).get("Variables", {}))

    def timeout(self, function_id: str) -> float:
        return float(self.resource(function_id)["Properties"].get("Timeout", 3))

    @property
    def shift_plan(self) -> ShiftPlan:
        group = self.resource(self.group_id)["Properties"]
        return ShiftPlan.from_config_name(group["DeploymentConfigName"])

    @property
    def group_alarm_ids(self) -> list[str]:
        alarms = self.resource(self.group_id)["Properties"]["AlarmConfiguration"]["Alarms"]
        return [alarm["Name"]["Ref"] for alarm in alarms]

    def alarm_ids_under(self, path_fragment: str) -> list[str]:
        return [
            logical_id
            for logical_id, resource in self.template["Resources"].items()
            if resource["Type"] == "AWS::CloudWatch::Alarm"
            and f"/{self.model}/{path_fragment}" in resource.get("Metadata", {}).get(PATH, "")
        ]

    def alarm_properties(self, logical_id: str, resolver: Resolver) -> dict[str, Any]:
        properties: dict[str, Any] = resolver.resolve(
            copy.deepcopy(self.resource(logical_id)["Properties"])
        )
        return properties
