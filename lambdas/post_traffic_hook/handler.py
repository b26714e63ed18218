"""CodeDeploy AfterAllowTraffic hook: did the green endpoint really take traffic, and well?

The verdict is green's ``Invocation5XXErrors / Invocations`` ratio over everything green
(``ENDPOINT_NAME`` of the target function version) served since the deployment was created: the
pre-traffic hook's sample requests and whatever real traffic arrived. It fails when the ratio
exceeds ``MAX_5XX_RATIO``, at once. Only green's metrics are read, never blue's: blue's errors
say nothing about the new model. CloudWatch metrics lag by one to three minutes, so the hook
polls until green shows ``MIN_INVOCATIONS`` invocations (then it decides) or
``METRICS_WAIT_SECONDS`` (or the Lambda's own time) runs out; then it decides on what arrived.
Little or no traffic is NOT a failure: on a quiet API 10% of the traffic may be nothing, and
the samples already passed through the new version.

A reverse shift (CloudFormation rolling the stack back after the forward shift succeeded)
passes at once: failing it would leave the stack in UPDATE_ROLLBACK_FAILED.

Then, pass or fail, it lowers green's capacity floor back to ``AUTOSCALING_MIN_CAPACITY`` (the
pre-traffic hook may have raised it to match blue); a restore that keeps failing emits the
metric ``CapacityFloorRestoreFailures`` (an alarm pages on it) and does not change the verdict.
Last, it reports the outcome to CodeDeploy.
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from deployment_hooks_common import Clock, Deadline, HookEvent, SystemClock, run_lifecycle_hook
from deployment_hooks_common.aws import bind_deadlines, client
from post_traffic.check import Clients, check_post_traffic
from post_traffic.settings import Settings

logger = Logger()

# Time kept back from the Lambda timeout to restore the floor and report to CodeDeploy.
SAFETY_MARGIN_SECONDS = 30.0


CLIENTS = Clients(
    codedeploy=client("codedeploy"),
    lambda_=client("lambda"),
    cloudwatch=client("cloudwatch"),
    autoscaling=client("application-autoscaling"),
)
CLOCK: Clock = SystemClock()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str | None]:
    deadline = Deadline.from_context(context, CLOCK, SAFETY_MARGIN_SECONDS)
    bind_deadlines(CLIENTS, deadline, report_margin=SAFETY_MARGIN_SECONDS)

    def check(hook: HookEvent) -> str:
        settings = Settings.from_env(os.environ)
        return check_post_traffic(
            hook.deployment_id, clients=CLIENTS, settings=settings, clock=CLOCK, deadline=deadline
        )

    result = run_lifecycle_hook(event, codedeploy=CLIENTS.codedeploy, check=check, logger=logger)
    return result.as_dict()
