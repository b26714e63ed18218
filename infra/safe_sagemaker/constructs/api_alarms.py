"""Alarms on the prediction API's 5xx responses and on its front-end functions' errors."""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from safe_sagemaker.constructs.alarm_factory import threshold_alarm
from safe_sagemaker.constructs.prediction_api import PredictionApi


class ApiAlarms(Construct):
    """An API-wide ``5XXError`` alarm and one ``Errors`` alarm per front-end function.

    They page on what the endpoint alarms cannot see: a front end that crashes or times out,
    and 5xx answers that never reached SageMaker (throttled or failed invocations included).
    The front end turns every SageMaker failure into a response instead of raising, so its
    Lambda ``Errors`` count only defects of the function itself; the API's 5xx count both.

    These watch the ``live`` alias as a whole (blue and green versions together) for people;
    CodeDeploy's rollback alarms must watch the new version only and are not made here.

    Missing data is "not breaching": both metrics are published only while requests arrive.

    Created resources: ``api_5xx_alarm``, ``frontend_error_alarms`` (by model), ``alarms``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: PredictionApi,
        frontends: Mapping[str, lambda_.IFunction],
        alarm_action: cloudwatch.IAlarmAction,
        api_5xx_errors: int = 5,
        frontend_errors: int = 0,
        period: Duration = Duration.minutes(1),
        evaluation_periods: int = 3,
        datapoints_to_alarm: int = 2,
    ) -> None:
        """
        :param api: the API whose stage-wide ``5XXError`` is watched.
        :param frontends: model name -> the function answering its route (the ``live`` alias).
        :param alarm_action: where alarm and OK transitions go (e.g. ``AlertsTopic.alarm_action``).
        :param api_5xx_errors: API 5xx responses a period above which to alarm. Default: 5.
        :param frontend_errors: function errors a period above which to alarm. Default: 0, as
            the function never raises on purpose.
        :param period: metric period. Default: 1 minute.
        :param evaluation_periods: periods evaluated. Default: 3.
        :param datapoints_to_alarm: breaching periods among them that raise the alarm. Default: 2.
        """
        super().__init__(scope, construct_id)
        if api_5xx_errors <= 0:
            raise ValueError(f"api_5xx_errors must be positive, got {api_5xx_errors}")
        if frontend_errors < 0:
            raise ValueError(f"frontend_errors must not be negative, got {frontend_errors}")
        if not 0 < datapoints_to_alarm <= evaluation_periods:
            raise ValueError(
                "datapoints_to_alarm must be positive and not exceed evaluation_periods"
            )
        unknown = sorted(set(frontends) - set(api.models))
        if unknown:
            raise ValueError(f"frontends {unknown} have no route in the API")

        alarm = partial(
            threshold_alarm,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            alarm_action=alarm_action,
            notify_ok=True,
        )
        self.api_5xx_alarm = alarm(
            self,
            "Api5XXErrors",
            metric=api.metric_server_error(period=period),
            threshold=api_5xx_errors,
            description=f"Prediction API stage {api.stage_name}: more than {api_5xx_errors} 5xx "
            "responses a period (front end failing, endpoint errors or timeouts)",
        )
        # Per model, so the id comes from the model name exactly as the models' own constructs do.
        per_model = Construct(self, "FrontendErrors")
        self.frontend_error_alarms: dict[str, cloudwatch.Alarm] = {
            model: alarm(
                per_model,
                model,
                metric=function.metric_errors(period=period, statistic="Sum"),
                threshold=frontend_errors,
                description=f"Front end of model {model}: more than {frontend_errors} function "
                "errors a period (crash, timeout or out of memory; see the function's log)",
            )
            for model, function in frontends.items()
        }
        self.alarms = [self.api_5xx_alarm, *self.frontend_error_alarms.values()]
