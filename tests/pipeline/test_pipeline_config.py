"""Pipeline config validation: one message per mistake, naming the field and the fix. No synth."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from app import choose_pipeline_file
from safe_sagemaker.config import ENVIRONMENTS_DIR, ConfigError, load_environments
from safe_sagemaker.pipeline.config import EXAMPLE_FILE, PIPELINE_FILE, load_pipeline_config

ENVIRONMENTS = load_environments()
EXAMPLE: dict[str, Any] = json.loads(EXAMPLE_FILE.read_text())


def load(tmp_path: Path, body: Any) -> Any:
    path = tmp_path / "pipeline.json"
    path.write_text(body if isinstance(body, str) else json.dumps(body))
    return load_pipeline_config(path, ENVIRONMENTS)


def changed(path: str, value: Any) -> dict[str, Any]:
    """The example with ``path`` (dotted, list indexes as numbers) set, or removed if None."""
    config = copy.deepcopy(EXAMPLE)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node: Any = config
    for part in parents:
        node = node[part]
    if value is None:
        del node[last]
    else:
        node[last] = value
    return config


def test_the_example_is_valid() -> None:
    config = load_pipeline_config(EXAMPLE_FILE, ENVIRONMENTS)
    assert [stage.environment for stage in config.stages] == ["dev", "prod"]
    assert config.source.connection is not None


def test_the_pipeline_is_opt_in(tmp_path: Path) -> None:
    absent, present = tmp_path / "absent.json", tmp_path / "pipeline.json"
    present.write_text("{}")
    assert choose_pipeline_file(None, default=absent) is None
    assert choose_pipeline_file(None, default=present) == present
    assert choose_pipeline_file("none", default=present) is None
    assert choose_pipeline_file(str(EXAMPLE_FILE), default=absent) == EXAMPLE_FILE
    with pytest.raises(ConfigError, match=r"context pipeline_config: no file .*absent\.json"):
        choose_pipeline_file(str(absent))
    assert PIPELINE_FILE.parent == EXAMPLE_FILE.parent  # beside, not among, the environments
    assert PIPELINE_FILE not in ENVIRONMENTS_DIR.glob("*.json")


def test_codecommit_source(tmp_path: Path) -> None:
    config = load(tmp_path, changed("source", {"codecommit": {"repository_name": "ml-serving"}}))
    assert config.source.codecommit is not None
    assert config.source.branch == "main"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("{", "pipeline config pipeline.json is not valid JSON (line 1, column 2"),
        ("[]", "pipeline config pipeline.json must hold a JSON object"),
        (
            changed("sourse", {}),
            "field 'sourse': unknown field (a typo?); remove it or check the pipeline section",
        ),
        (changed("account", None), "field 'account': required; see the pipeline section"),
        (changed("account", "12345"), "field 'account': account '12345' must be a 12-digit"),
        (changed("region", "Europe"), "field 'region': region 'Europe' is not an AWS region"),
        (changed("pipeline_name", "my pipeline"), "field 'pipeline_name': pipeline_name 'my "),
        (
            changed("source.codecommit", {"repository_name": "x"}),
            "field 'source': set exactly one of 'connection' and 'codecommit'",
        ),
        (changed("source", {}), "field 'source': set exactly one of 'connection' and"),
        (
            changed("source.connection.connection_arn", "arn:aws:iam::123456789012:role/x"),
            "field 'source.connection.connection_arn': 'arn:aws:iam::123456789012:role/x' is "
            "not a connection ARN; create the connection in the console",
        ),
        (
            changed("source.connection.repository", "just-a-name"),
            "field 'source.connection.repository': repository 'just-a-name' must be 'owner/name'",
        ),
        (
            changed("source", {"codecommit": {"repository_name": "bad name"}}),
            "field 'source.codecommit.repository_name': repository_name 'bad name': 1-100",
        ),
        (changed("stages", []), "field 'stages': List should have at least 1 item"),
        (
            changed("stages.0.environment", "staging"),
            "field 'stages[0].environment': no environment 'staging'; use one of ['dev', 'prod']",
        ),
        (
            changed("stages.1.environment", "dev"),
            "field 'stages[1].environment': 'dev' is deployed twice",
        ),
        (
            changed("stages.1.approval", False),
            "field 'stages[1].approval': 'prod' is a production environment; set approval to true",
        ),
        (
            changed("stages.0.smoke_tests.0.model", "churn-xgboost"),
            "field 'stages[0].smoke_tests[0].model': 'dev' serves no model 'churn-xgboost'; use "
            "one of ['fraud-detector', 'churn-scorer']",
        ),
        (
            changed("stages.0.smoke_tests.0.content_type", "JSON"),
            "field 'stages[0].smoke_tests[0].content_type':",
        ),
        (
            changed("stages.0.smoke_tests.0.timeout_seconds", 120),
            "field 'stages[0].smoke_tests[0].timeout_seconds': Input should be less than or equal",
        ),
        (
            changed("model_registry.model_package_groups", []),
            "field 'model_registry.model_package_groups': List should have at least 1 item",
        ),
        (
            changed("model_registry.model_package_groups", ["fraud detector"]),
            "field 'model_registry.model_package_groups[0]': 'fraud detector' is not a model "
            "package group name",
        ),
        (
            changed("model_registry.model_package_groups", ["a", "a"]),
            "field 'model_registry.model_package_groups': a model package group is listed twice",
        ),
        (
            changed("model_registry.pinned_packages", {"churn-scorer": "arn"}),
            "field 'model_registry': pinned_packages is no longer read: the version a synth "
            "without the registry deploys is the model_package_arn in the environment file",
        ),
        (
            changed("model_registry.model_package_groups", ["fraud-detector"]),
            "field 'model_registry.model_package_groups[0]': no model of the pipeline's stages "
            "serves group 'fraud-detector', so an approval would deploy nothing; pin a version",
        ),
    ],
)
def test_each_mistake_has_one_clear_message(tmp_path: Path, body: Any, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        load(tmp_path, body)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def load_with(tmp_path: Path, name: str, **changes: Any) -> Any:
    """The example against the environments with ``changes`` made to environment ``name``."""
    environments = [
        env.model_copy(update=changes) if env.name == name else env for env in ENVIRONMENTS
    ]
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(EXAMPLE))
    return load_pipeline_config(path, environments)


def test_smoke_tests_need_iam_auth(tmp_path: Path) -> None:
    dev = next(env for env in ENVIRONMENTS if env.name == "dev")
    api = dev.api.model_copy(update={"auth": "api_key"})
    with pytest.raises(ConfigError, match=r"field 'stages\[0\]\.smoke_tests': smoke tests sign"):
        load_with(tmp_path, "dev", api=api)


def test_cross_region_stages_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"field 'stages\[1\]\.environment': 'prod' is in region"):
        load_with(tmp_path, "prod", region="eu-west-1")


def test_the_registry_must_be_the_pipelines(tmp_path: Path) -> None:
    """Approval events reach the pipeline's account only, and its synth lists that registry."""
    with pytest.raises(ConfigError) as error:
        load(tmp_path, changed("account", "210987654321"))
    assert str(error.value) == (
        "pipeline config pipeline.json, field 'model_registry.model_package_groups[0]': "
        "environment 'dev' model 'churn-scorer' pins a package of 123456789012/us-east-1, but "
        "the pipeline reads the registry of its own account and region (210987654321/us-east-1);"
        " register the model there or run the pipeline in the registry's account"
    )
