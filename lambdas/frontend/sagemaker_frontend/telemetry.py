"""CloudWatch metrics in Embedded Metric Format (EMF), for the rollback alarms.

Every document has exactly the dimensions ``ModelName`` and ``ModelVersion``: the alarms in the
CDK code select on exactly these two. Powertools adds a ``service`` dimension whenever a service
name is known (``POWERTOOLS_SERVICE_NAME``); passing ``service=""`` switches that off, and a
test checks the emitted JSON. A fresh ``EphemeralMetrics`` per metric keeps no state between
invocations (the ``Metrics`` class shares its state between all instances).
"""

from __future__ import annotations

from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from .config import Settings


def emit_count(name: str, settings: Settings) -> None:
    """Print one EMF document counting 1 ``name`` for this model version (to stdout)."""
    metrics = EphemeralMetrics(namespace=settings.metrics_namespace, service="")
    metrics.add_dimension(name="ModelName", value=settings.model_name)
    metrics.add_dimension(name="ModelVersion", value=settings.model_version)
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
