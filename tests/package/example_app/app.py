"""Reusing the library in your own CDK app: one endpoint with autoscaling, alarms to an
encrypted topic, and a function allowed to invoke it. The README shows this file; a test
builds the wheel, installs it into a fresh venv and synthesizes this app with the CDK CLI."""

from aws_cdk import App, Stack
from aws_cdk import aws_lambda as lambda_

from safe_sagemaker.constructs.alerts_topic import AlertsTopic
from safe_sagemaker.constructs.endpoint_alarms import EndpointAlarms
from safe_sagemaker.constructs.endpoint_autoscaling import EndpointAutoscaling
from safe_sagemaker.constructs.model_endpoint import ModelEndpoint

app = App()
stack = Stack(app, "RecommenderStack")
endpoint = ModelEndpoint(
    stack,
    "Recommender",
    endpoint_name="prod-recommender-v7",
    image_uri="763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-inference:2.3-cpu-py311",
    model_data_url="s3://my-models/recommender/v7/model.tar.gz",
    instance_type="ml.m5.xlarge",
    initial_instance_count=2,
)
EndpointAutoscaling(
    stack,
    "Scaling",
    endpoint=endpoint,
    min_capacity=2,
    max_capacity=8,
    max_requests_per_second=25,
    safety_factor=0.5,
)
alerts = AlertsTopic(stack, "Alerts", emails=["oncall@example.com"])
EndpointAlarms(stack, "Alarms", endpoint=endpoint, alarm_action=alerts.alarm_action)

# Your own caller of the endpoint: any IGrantable works.
caller = lambda_.Function(
    stack,
    "Caller",
    runtime=lambda_.Runtime.PYTHON_3_13,
    handler="index.handler",
    code=lambda_.Code.from_inline("def handler(event, context):\n    return event\n"),
)
endpoint.grant_invoke(caller)  # sagemaker:InvokeEndpoint on this endpoint only
latency = endpoint.metric_model_latency()  # p99 ModelLatency, for your own dashboards

app.synth()
