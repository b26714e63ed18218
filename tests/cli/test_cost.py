"""cost: an environment whose every figure is computed by hand below from
infra/safe_sagemaker/cli/prices.json (as of 2026-11-30, us-east-1)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run, one_line_error

STAGE = {
    "production": False,
    "capture_retention_days": 30,
    "canary": {"enabled": True, "schedule_minutes": 15},
    "models": [
        {
            "name": "ranker",
            "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/ranker:v1",
            "model_data_url": "s3://models/ranker/model.tar.gz",
            "instance_type": "ml.c5.xlarge",
            "initial_instance_count": 3,
            "autoscaling": {
                "min_capacity": 3,
                "max_capacity": 6,
                "target_invocations_per_instance": 100,
            },
            "data_capture": {"sampling_percentage": 50},
            "monitoring": {
                "baseline_statistics_uri": "s3://models/ranker/statistics.json",
                "baseline_constraints_uri": "s3://models/ranker/constraints.json",
            },
            "deployment": {"config": "Linear10PercentEvery2Minutes", "metrics_wait_seconds": 120},
        },
        {
            "name": "tagger",
            "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/tagger:v1",
            "model_data_url": "s3://models/tagger/model.tar.gz",
            "serverless": {"memory_size_mb": 2048, "max_concurrency": 5},
        },
    ],
}
# By hand, 730 hours a month, 10 requests a second to each model:
EXPECTED_LINES = {
    "ranker endpoint": 446.76,  # 3 x $0.204 x 730
    "ranker Model Monitor": 27.98,  # $0.23 x 10/60 x 730
    "tagger serverless": 105.12,  # 10 x 3600 x 730 x 0.1 s x 2 GB x $0.00002
    "capture storage": 0.61,  # 10 x 50% x 2048 B x 86400 x 30 days = 26.54 GB x $0.023
    "canary": 3.50,  # 730 x 60 / 15 = 2920 runs x $0.0012
    "dashboard": 3.00,
    "KMS keys": 4.00,  # alerts, data, capture, canary artifacts
}
EXPECTED_TOTAL = 590.97


def stage_folder(tmp_path: Path) -> Path:
    (tmp_path / "stage.json").write_text(json.dumps(STAGE))
    return tmp_path


def test_hand_computed_estimate(run: Run, tmp_path: Path) -> None:
    result = run(
        "--environments", stage_folder(tmp_path), "cost", "--env", "stage",
        "--requests-per-second", 10, "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert (document["as_of"], document["region"]) == ("2026-11-30", "us-east-1")
    assert {line["item"]: line["monthly"] for line in document["lines"]} == EXPECTED_LINES
    assert document["monthly_total"] == EXPECTED_TOTAL
    rollouts = {r["strategy"]: r for r in document["rollouts"]}
    assert {r["model"] for r in document["rollouts"]} == {"ranker"}  # serverless: no fleet
    # Linear 10% every 2 minutes: 8 min to create green + 9 x 2 min of shift + 2 min of the
    # post-traffic hook's wait = 28 min of 3 more ml.c5.xlarge: 3 x $0.204 x 28/60.
    assert rollouts["Linear10PercentEvery2Minutes"] == {
        "model": "ranker",
        "strategy": "Linear10PercentEvery2Minutes",
        "configured": True,
        "minutes": 28,
        "extra_instances": 3,
        "extra_cost": 0.29,
    }
    assert (rollouts["AllAtOnce"]["minutes"], rollouts["AllAtOnce"]["extra_cost"]) == (10, 0.10)
    assert rollouts["Canary10Percent30Minutes"]["minutes"] == 40


def test_readable_output_names_the_price_date(run: Run, tmp_path: Path) -> None:
    result = run("--environments", stage_folder(tmp_path), "cost", "--env", "stage")
    assert (
        "stage: monthly estimate (us-east-1 list prices as of 2026-11-30; not a quote)"
        in result.stdout
    )
    assert "$446.76" in result.stdout
    assert "Linear10PercentEvery2Minutes *" in result.stdout


def test_the_repository_environments_match_the_readme(run: Run) -> None:
    document = json.loads(run("cost", "--env", "dev", "--json").stdout)
    assert document["lines"][0] == {
        "item": "fraud-detector endpoint",
        "detail": "1 x ml.t2.medium at minimum capacity",
        "monthly": 40.88,
    }


def test_an_instance_type_without_a_price_is_one_line(run: Run, tmp_path: Path) -> None:
    gpu = {
        **STAGE,
        "models": [{**STAGE["models"][1], "serverless": None, "instance_type": "ml.p3.2xlarge"}],
    }
    (tmp_path / "stage.json").write_text(json.dumps(gpu))
    result = run("--environments", tmp_path, "cost", "--env", "stage")
    assert result.exit_code == 1
    assert one_line_error(result).startswith(
        "Error: no SageMaker hosting price for ml.p3.2xlarge in "
    )


def test_another_price_table(run: Run, tmp_path: Path) -> None:
    table = json.loads(
        (Path(__file__).resolve().parents[2] / "infra/safe_sagemaker/cli/prices.json").read_text()
    )
    table["sagemaker_hosting_per_hour"]["ml.t2.medium"] = 1.0
    (tmp_path / "prices.json").write_text(json.dumps(table))
    document = json.loads(
        run("cost", "--env", "dev", "--prices", tmp_path / "prices.json", "--json").stdout
    )
    assert document["lines"][0]["monthly"] == 730.0


def test_an_endpoint_guardrails_rollout_is_its_configured_update(run: Run, tmp_path: Path) -> None:
    """One row, SageMaker's update: 8 min to provision the new fleet, then a 10% canary of 3
    instances and the rest, each baking 5 minutes, with blue kept 10 more: 8 + 10 + 10 = 28 min
    of 3 more ml.c5.xlarge (3 x $0.204 x 28/60); rolling 1 batch of 25% (1 instance) at a time:
    8 + 3 x 2 min = 14 min of 1 more."""
    ranker = STAGE["models"][0]
    canary = {"strategy": "endpoint-guardrails", "guardrails": {"termination_wait_seconds": 600}}
    rolling = {
        "strategy": "endpoint-guardrails",
        "guardrails": {
            "mode": "rolling",
            "maximum_batch_size": {"value": 25},
            "wait_interval_seconds": 120,
        },
    }
    models = [
        {**ranker, "deployment": canary},
        {**ranker, "name": "rolled", "deployment": rolling},
    ]
    (tmp_path / "stage.json").write_text(
        json.dumps({**STAGE, "production": True, "models": models})
    )
    result = run("--environments", tmp_path, "cost", "--env", "stage", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["model"]: r for r in json.loads(result.stdout)["rollouts"]}
    assert rows == {
        "ranker": {
            "model": "ranker",
            "strategy": "endpoint-guardrails canary",
            "configured": True,
            "minutes": 28,
            "extra_instances": 3,
            "extra_cost": 0.29,
        },
        "rolled": {
            "model": "rolled",
            "strategy": "endpoint-guardrails rolling",
            "configured": True,
            "minutes": 14,
            "extra_instances": 1,
            "extra_cost": 0.05,
        },
    }
