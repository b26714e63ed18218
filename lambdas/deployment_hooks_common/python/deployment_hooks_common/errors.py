"""The one exception type that means "the check ran and the deployment must not go on"."""


class HookFailedError(Exception):
    """A deliberate, explained failure: reported to CodeDeploy as ``Failed`` with this message."""


class ConfigError(HookFailedError):
    """The hook's own environment is missing or malformed (a deployment bug, not a model bug)."""


class HandedOverError(Exception):
    """The check goes on in another invocation of the same hook, which reports the outcome
    (a wait longer than one Lambda run). Raised only once that invocation is under way."""
