"""Loading a Lambda function's module from its folder under a name of the test's choosing.

Several functions have a ``handler.py``; putting their folders on ``sys.path`` would make them
clash, so each is loaded from its file and registered under its own name."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load_module(module_name: str, path: Path) -> ModuleType:
    """``path`` executed as module ``module_name`` (and registered in ``sys.modules``)."""
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
