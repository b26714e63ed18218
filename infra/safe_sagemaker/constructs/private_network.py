"""An existing VPC, imported offline, for the models and functions of a stack, with the VPC
endpoints they need to reach AWS APIs without a NAT."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Annotations, Fn, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from safe_sagemaker.checkov import skip_checks
from safe_sagemaker.nag import acknowledge

_Service = ec2.InterfaceVpcEndpointAwsService
# The AWS APIs called from inside the VPC, by construct id, each with who calls it.
INTERFACE_ENDPOINT_SERVICES: Mapping[str, ec2.IInterfaceVpcEndpointService] = {
    # The front ends and the pre-traffic hook invoke endpoints.
    "SageMakerRuntime": _Service.SAGEMAKER_RUNTIME,
    # The hooks describe endpoints and endpoint configs.
    "SageMakerApi": _Service.SAGEMAKER_API,
    # The post-traffic hook reads the green endpoint's metrics.
    "CloudWatch": _Service.CLOUDWATCH_MONITORING,
    # The endpoint-log-group provider creates and tags log groups.
    "Logs": _Service.CLOUDWATCH_LOGS,
    # The hooks report their lifecycle status.
    "CodeDeploy": _Service.CODEDEPLOY,
    # The pre-traffic hook invokes the new version and re-invokes itself; the custom-resource
    # framework invokes its handler.
    "Lambda": _Service.LAMBDA_,
    # The pre-traffic hook sizes green's scalable target to blue's.
    "ApplicationAutoScaling": _Service.APPLICATION_AUTOSCALING,
    # Active tracing: the X-Ray daemon in each function's environment sends its segments.
    "XRay": _Service.XRAY,
    # SageMaker pulls the serving image of a model in the VPC through it.
    "EcrApi": _Service.ECR,
    "EcrDocker": _Service.ECR_DOCKER,
}

# What Lambda needs of a role to attach a function to a VPC (the actions of the managed
# AWSLambdaVPCAccessExecutionRole).
LAMBDA_NETWORK_INTERFACE_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
# What SageMaker documents for the execution role of a hosted model, or of a processing job
# (Model Monitor), with a VpcConfig.
SAGEMAKER_NETWORK_INTERFACE_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeVpcs",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
)


@dataclass(frozen=True)
class NetworkPlacement:
    """Where a function or a model runs: a VPC, subnets of it, and security groups."""

    vpc: ec2.IVpc
    subnets: tuple[ec2.ISubnet, ...]
    security_groups: tuple[ec2.ISecurityGroup, ...]

    def function_props(self) -> dict[str, Any]:
        """The ``vpc``, ``vpc_subnets`` and ``security_groups`` of a Lambda function."""
        return {
            "vpc": self.vpc,
            "vpc_subnets": ec2.SubnetSelection(subnets=list(self.subnets)),
            "security_groups": list(self.security_groups),
        }

    def model_vpc_config(self) -> sagemaker.CfnModel.VpcConfigProperty:
        return sagemaker.CfnModel.VpcConfigProperty(
            subnets=[subnet.subnet_id for subnet in self.subnets],
            security_group_ids=[group.security_group_id for group in self.security_groups],
        )


def allow_network_interfaces(
    scope: Construct, role: iam.IRole, actions: Sequence[str], *, service: str
) -> iam.Policy:
    """A policy ``scope/NetworkInterfaces`` on ``role`` with the EC2 network-interface
    ``actions`` a service needs to place its compute in a VPC. Make the resource that needs it
    depend on the policy: Lambda and SageMaker check the role when the resource is created."""
    policy = iam.Policy(
        scope,
        "NetworkInterfaces",
        roles=[role],
        statements=[iam.PolicyStatement(actions=list(actions), resources=["*"])],
    )
    reason = (
        f"{service} creates, describes and deletes the network interfaces that place its "
        "compute in the configured subnets; AWS requires these EC2 actions on '*' (the "
        "interfaces do not exist before they are created, and the Describe actions have no "
        "resource-level permissions). The subnets and security groups are fixed by the "
        "function or model configuration, not by this role."
    )
    acknowledge(policy, "AwsSolutions-IAM5", reason, findings=("Resource::*",))
    # checkov: CKV_AWS_111 (writes on '*'), and CKV_AWS_109 (permissions management on '*') for
    # SageMaker, which lets its service account use the interfaces it creates
    # (CreateNetworkInterfacePermission).
    skips = ["CKV_AWS_111"] + (
        ["CKV_AWS_109"] if any(a.endswith("NetworkInterfacePermission") for a in actions) else []
    )
    skip_checks(policy, reason, *skips)
    return policy


class PrivateNetwork(Construct):
    """An existing VPC, imported by id without any lookup (synth stays offline): its subnets and
    security groups as ``placement``, and, when ``create_endpoints``, interface endpoints for
    the AWS APIs the stack's functions and SageMaker call (``INTERFACE_ENDPOINT_SERVICES``)
    and an S3 gateway endpoint on ``route_table_ids`` (model artifacts, ECR image layers,
    CloudFormation's custom-resource responses).

    Created resources: ``endpoint_security_group`` (443 from the given security groups only),
    ``interface_endpoints`` (by construct id), ``s3_endpoint``; ``None``/empty without
    ``create_endpoints``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        vpc_id: str,
        subnet_ids: Sequence[str],
        security_group_ids: Sequence[str],
        create_endpoints: bool = True,
        route_table_ids: Sequence[str] = (),
    ) -> None:
        """
        :param vpc_id: the VPC (``vpc-...``).
        :param subnet_ids: 1-16 subnets of it, two or more in different Availability Zones
            for a fleet that survives a zone's loss.
        :param security_group_ids: 1-5 security groups for the network interfaces of the
            functions and models; they must allow HTTPS out to the endpoints.
        :param create_endpoints: create the VPC endpoints. Default: true; false when the VPC
            already has them or reaches AWS through a NAT.
        :param route_table_ids: the subnets' route tables, for the S3 gateway endpoint;
            required with ``create_endpoints``.
        """
        super().__init__(scope, construct_id)
        if not subnet_ids:
            raise ValueError("subnet_ids must name at least one subnet")
        if not security_group_ids:
            raise ValueError("security_group_ids must name at least one security group")
        if create_endpoints and not route_table_ids:
            raise ValueError(
                "create_endpoints needs route_table_ids for the S3 gateway endpoint; give the "
                "subnets' route tables or set create_endpoints to false"
            )
        # The subnets are always selected explicitly, so the VPC's own subnet layout is never
        # read: its zones stay a CloudFormation function (a concrete list would need a context
        # lookup, i.e. AWS calls at synth).
        vpc = ec2.Vpc.from_vpc_attributes(
            self, "Vpc", vpc_id=vpc_id, availability_zones=Fn.get_azs()
        )
        Annotations.of(vpc).acknowledge_warning(
            "@aws-cdk/aws-ec2:vpcAttributeIsListTokenavailabilityZones",
            "every construct here selects the configured subnets explicitly; none reads the "
            "VPC's zones or subnet layout",
        )
        groups = tuple(
            ec2.SecurityGroup.from_security_group_id(
                self, f"SecurityGroup{index}", group_id, mutable=False
            )
            for index, group_id in enumerate(security_group_ids)
        )
        subnets = tuple(
            ec2.Subnet.from_subnet_id(self, f"Subnet{index}", subnet_id)
            for index, subnet_id in enumerate(subnet_ids)
        )
        for subnet in subnets:
            Annotations.of(subnet).acknowledge_warning(
                "@aws-cdk/aws-ec2:noSubnetRouteTableId",
                "the S3 gateway endpoint takes the configured route_table_ids; nothing reads a "
                "subnet's route table",
            )
        self.placement = NetworkPlacement(
            vpc=vpc,
            subnets=subnets,
            security_groups=groups,
        )
        self.vpc = vpc
        self.endpoint_security_group: ec2.SecurityGroup | None = None
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        self.s3_endpoint: ec2.CfnVPCEndpoint | None = None
        if not create_endpoints:
            return
        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=vpc,
            description="HTTPS from the functions and models to the VPC interface endpoints",
            allow_all_outbound=False,
        )
        for group in groups:
            self.endpoint_security_group.add_ingress_rule(
                ec2.Peer.security_group_id(group.security_group_id),
                ec2.Port.tcp(443),
                "HTTPS from the functions' and models' security group",
            )
        for endpoint_id, service in INTERFACE_ENDPOINT_SERVICES.items():
            self.interface_endpoints[endpoint_id] = ec2.InterfaceVpcEndpoint(
                self,
                endpoint_id,
                vpc=vpc,
                service=service,
                subnets=ec2.SubnetSelection(subnets=list(self.placement.subnets)),
                security_groups=[self.endpoint_security_group],
                # Not open to the whole VPC CIDR: only the groups above.
                open=False,
                private_dns_enabled=True,
            )
        # Gateway endpoints route by route table; imported subnets carry none, so the L1
        # resource takes the ids as configured.
        self.s3_endpoint = ec2.CfnVPCEndpoint(
            self,
            "S3",
            vpc_id=vpc_id,
            service_name=f"com.amazonaws.{Stack.of(self).region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=list(route_table_ids),
        )
