"""CodeDeploy BeforeAllowTraffic hook: may the alias start moving to the green endpoint?

It succeeds only when
1. the green endpoint (``ENDPOINT_NAME`` of the target function version) is ``InService``;
2. green can take blue's load: if blue has scaled out beyond green, green's capacity floor is
   raised to blue's current instance count (capped at ``AUTOSCALING_MAX_CAPACITY``) and the hook
   waits until green runs that many instances (the post-traffic hook lowers the floor again);
3. every request in ``SAMPLE_REQUESTS`` sent through the NEW function version is answered as
   expected, by the green endpoint.

A scale-out that outlasts one Lambda run (15 minutes) continues in a new invocation of this
hook (``deployment_hooks_common.continuation``), up to ``MAX_HOOK_SECONDS`` in all, within
CodeDeploy's one hour for a lifecycle hook.

A reverse shift (CloudFormation rolling a stack update back after the forward shift had
succeeded: the alias moves back to the OLDER version) passes at once: the old version served
all traffic minutes ago, and failing here would leave the stack in UPDATE_ROLLBACK_FAILED.

Whatever happens, the outcome is reported to CodeDeploy (see ``deployment_hooks_common``).
"""

from __future__ import annotations

import os
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from deployment_hooks_common import Clock, Deadline, HookEvent, SystemClock, run_lifecycle_hook
from deployment_hooks_common.aws import bind_deadlines, client
from deployment_hooks_common.continuation import Continuation
from pre_traffic.check import Clients, Invocation, check_pre_traffic
from pre_traffic.samples import INVOKE_READ_TIMEOUT_SECONDS
from pre_traffic.settings import Settings

logger = Logger()

# Time kept back from the Lambda timeout so the report to CodeDeploy is always sent.
SAFETY_MARGIN_SECONDS = 30.0


CLIENTS = Clients(
    codedeploy=client("codedeploy"),
    lambda_=client("lambda", read_timeout=INVOKE_READ_TIMEOUT_SECONDS),
    sagemaker=client("sagemaker"),
    autoscaling=client("application-autoscaling"),
)
CLOCK: Clock = SystemClock()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, str | None]:
    deadline = Deadline.from_context(context, CLOCK, SAFETY_MARGIN_SECONDS)
    bind_deadlines(CLIENTS, deadline, report_margin=SAFETY_MARGIN_SECONDS)

    def check(hook: HookEvent) -> str:
        settings = Settings.from_env(os.environ)
        invocation = Invocation(
            event=event,
            function_arn=context.invoked_function_arn,
            continuation=Continuation.from_event(event, CLOCK),
            run_deadline=deadline,
            clock=CLOCK,
        )
        return check_pre_traffic(
            hook.deployment_id, clients=CLIENTS, settings=settings, invocation=invocation
        )

    result = run_lifecycle_hook(event, codedeploy=CLIENTS.codedeploy, check=check, logger=logger)
    return result.as_dict()
