"""Front-end prediction Lambda for one SageMaker real-time endpoint.

The Lambda entry point is ``handler.handler`` in the folder above this package. The package has
a name no other function in this repository uses, so tests can import it next to other
functions' ``handler`` modules without a clash.

Modules:

- ``config``: the environment-variable contract, parsed once at init.
- ``logic``: pure request validation, error classification and response shaping (no AWS).
- ``runtime_client``: the SageMaker runtime client factory (timeouts and retries).
- ``telemetry``: the CloudWatch Embedded Metric Format metrics the rollback alarms watch.
"""
