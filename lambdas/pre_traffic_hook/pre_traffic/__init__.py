"""The pre-traffic hook's logic, by concern; ``handler.py`` only wires it to Lambda.

- ``settings``: the function's environment (capacity limits, sample requests), parsed once;
- ``capacity``: matching green's instance count to blue's (Describe/RegisterScalableTarget);
- ``samples``: the proxy events sent through the new version and the verdict on each answer;
- ``check``: the whole check for one deployment, from CodeDeploy's event to the summary that
  ``deployment_hooks_common.run_lifecycle_hook`` reports.

The package name is unique in the repository, so that tests load it beside the other
functions' ``handler.py`` and packages without a clash.
"""
