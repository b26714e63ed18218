"""The library as a platform team gets it: the wheel is built from this repository, installed
into a fresh venv without the repository on the path, and the README's reuse example (the
``example_app`` folder beside this file) is synthesized with the pinned CDK CLI and linted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, cfn_lint

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).parent / "example_app"
CDK = REPO_ROOT / "node_modules" / ".bin" / "cdk"


def _run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _pip(python: Path, *arguments: str | Path, cwd: Path) -> str:
    """This venv's pip, acting on the environment of ``python``."""
    return _run(sys.executable, "-m", "pip", "--python", python, *arguments, cwd=cwd)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    # The working tree as it is, caches included: what the wheel takes is pyproject's choice.
    _run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, REPO_ROOT, cwd=out
    )
    (built,) = out.glob("safe_sagemaker_endpoints-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new venv holding only the wheel. Its dependencies come from this venv's site-packages
    through a path entry: importable, but this venv's editable install of the repository (a
    .pth file there) is not run, so ``safe_sagemaker`` can only come from the wheel."""
    venv = tmp_path_factory.mktemp("venv")
    # Without a pip of its own (seeding one costs seconds): this venv's pip installs into it.
    _run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=venv)
    python = venv / "bin" / "python"
    _pip(python, "install", "--no-deps", "--quiet", wheel, cwd=venv)
    site = Path(
        _run(
            python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=venv
        ).strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


def test_the_wheel_holds_the_library_its_lambda_code_and_nothing_of_the_app(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {
        "safe_sagemaker",
        f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info",
    }
    assert "safe_sagemaker/py.typed" in names
    # Every module of the library's source: pyproject lists the packages one by one.
    source = REPO_ROOT / "infra" / "safe_sagemaker"
    modules = {f"safe_sagemaker/{p.relative_to(source)}" for p in source.rglob("*.py")}
    assert modules - set(names) == set()
    assert "safe_sagemaker/cli/prices.json" in names
    for function in (
        "frontend/handler.py",
        "pre_traffic_hook/handler.py",
        "post_traffic_hook/handler.py",
    ):
        assert f"safe_sagemaker/lambdas/{function}" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith((".pyc", ".md"))]
    assert not [n for n in names if "environments" in n or n.startswith(("tests/", "app.py"))]


def test_the_installed_library_runs_without_the_repository(
    fresh_python: Path, tmp_path: Path
) -> None:
    where = _run(
        fresh_python,
        "-c",
        "import safe_sagemaker.constructs.python_function as f; print(f.__file__); "
        "print(f.lambda_folder('frontend'))",
        cwd=tmp_path,
    ).split()
    assert all(str(REPO_ROOT) not in path for path in where)
    assert (Path(where[1]) / "handler.py").is_file()
    # Every dependency the wheel declares is installed (through the path entry).
    _pip(fresh_python, "check", cwd=tmp_path)
    assert "safe-sagemaker" in _run(fresh_python.parent / "safe-sagemaker", "--help", cwd=tmp_path)


def test_the_readme_shows_the_example_app_as_it_is() -> None:
    readme = (REPO_ROOT / "README.md").read_text()
    assert f"```python\n{(EXAMPLE / 'app.py').read_text()}```" in readme


def test_the_example_app_sets_the_feature_flags_this_app_uses() -> None:
    flags = json.loads((EXAMPLE / "cdk.json").read_text())["context"]
    assert flags == json.loads((REPO_ROOT / "cdk.json").read_text())["context"]


def test_the_example_app_synthesizes_from_the_wheel_and_passes_cfn_lint(
    fresh_python: Path, tmp_path: Path
) -> None:
    app = tmp_path / "my-app"
    shutil.copytree(EXAMPLE, app)
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    env.pop("PYTHONPATH", None)
    _run(CDK, "synth", "--quiet", "--app", f"{fresh_python} app.py", cwd=app, env=env)
    template_path = app / "cdk.out" / "RecommenderStack.template.json"
    template = json.loads(template_path.read_text())
    types = [resource["Type"] for resource in template["Resources"].values()]
    for expected in (
        "AWS::SageMaker::Model",
        "AWS::SageMaker::EndpointConfig",
        "AWS::SageMaker::Endpoint",
        "AWS::ApplicationAutoScaling::ScalableTarget",
        "AWS::CloudWatch::Alarm",
        "AWS::SNS::Topic",
    ):
        assert expected in types
    (endpoint,) = [
        r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Endpoint"
    ]
    assert endpoint["Properties"]["EndpointName"] == "prod-recommender-v7"
    assert cfn_lint([str(template_path)]) == []
