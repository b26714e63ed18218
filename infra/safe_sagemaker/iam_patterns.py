"""IAM resource patterns: build them, and test what they match, the way IAM does.

In an IAM ``Resource`` element ``*`` matches any run of characters (including none) and ``?``
exactly one; everything else, case included, must match literally. The blue/green front end
relies on ``?``: ``endpoint/prod-fraud-detector-????????`` matches every fingerprinted endpoint
name of that model and no other model whose name merely starts the same, such as
``prod-fraud-detector-v2-1a2b3c4d``.
"""

from __future__ import annotations

import re
from functools import cache


def fingerprinted_name_pattern(prefix: str, fingerprint_length: int) -> str:
    """The pattern matching ``prefix`` followed by exactly ``fingerprint_length`` characters."""
    if fingerprint_length < 1:
        raise ValueError("fingerprint_length must be at least 1")
    if "*" in prefix or "?" in prefix:
        raise ValueError(f"prefix {prefix!r} must not contain IAM wildcards")
    return prefix + "?" * fingerprint_length


@cache
def _compile(pattern: str) -> re.Pattern[str]:
    translated = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    return re.compile(translated, re.DOTALL)


def iam_pattern_matches(pattern: str, value: str) -> bool:
    """Whether IAM would consider ``value`` (an ARN or a name) matched by ``pattern``."""
    return _compile(pattern).fullmatch(value) is not None
