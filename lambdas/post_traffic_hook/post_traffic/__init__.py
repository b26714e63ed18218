"""The post-traffic hook's logic, by concern; ``handler.py`` only wires it to Lambda.

- ``settings``: the function's environment (thresholds, waits, the floor to restore);
- ``traffic``: green's invocations and 5xx errors from CloudWatch, and the verdict on them;
- ``capacity_floor``: lowering green's capacity floor again, and counting a failed restore;
- ``check``: the whole check for one deployment, from CodeDeploy's event to the summary that
  ``deployment_hooks_common.run_lifecycle_hook`` reports.

The package name is unique in the repository, so that tests load it beside the other
functions' ``handler.py`` and packages without a clash.
"""
