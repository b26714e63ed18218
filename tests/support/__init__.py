"""Test support shared by the unit, end-to-end and benchmark code of the front-end Lambda.

- ``fake_sagemaker_runtime``: a local HTTP server speaking the SageMaker runtime protocol.
- ``frontend``: loads ``lambdas/frontend`` under collision-free module names, and builds
  realistic API Gateway REST (v1) proxy events and Lambda contexts.
"""
