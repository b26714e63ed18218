"""The messages of type and range errors: each names the field and what to write instead, and
types are strict (no "true" for true, no "2" for 2). One case each, with its whole message."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore import __version__ as botocore_version

from safe_sagemaker.config import load_environment
from safe_sagemaker.instance_types import valid_instance_types
from tests.infra.test_config import env_with, error_for, write_env

PROD = "environment 'prod'"
VALID_TYPES = (
    f"(valid: the {len(valid_instance_types('hosting'))} hosting types of the SageMaker API in "
    f"botocore {botocore_version}; a newer type needs a newer boto3 in requirements.txt)"
)
MODEL = f"{PROD}, model 'fraud-detector'"
AUTOSCALING = {"min_capacity": 2, "max_capacity": 10, "target_invocations_per_instance": 500}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(
            env_with({}, production="true"),
            f"{PROD}, field 'production': must be true or false, not the string \"true\"; "
            "remove the quotes (write true)",
            id="quoted-boolean",
        ),
        pytest.param(
            env_with({}, production=1),
            f"{PROD}, field 'production': must be true or false (no quotes), not the number 1",
            id="number-for-boolean",
        ),
        pytest.param(
            env_with({"initial_instance_count": "2"}),
            f"{MODEL}, field 'models[0].initial_instance_count': must be a whole number such "
            'as 2, not the string "2"; remove the quotes',
            id="quoted-whole-number",
        ),
        pytest.param(
            env_with({"initial_instance_count": 2.0}),
            f"{MODEL}, field 'models[0].initial_instance_count': must be a whole number: "
            "write 2, not 2.0",
            id="whole-number-with-a-decimal-point",
        ),
        pytest.param(
            env_with({"autoscaling": {**AUTOSCALING, "max_capacity": 2.5}}),
            f"{MODEL}, field 'models[0].autoscaling.max_capacity': must be a whole number such "
            "as 2, not the number 2.5",
            id="fraction-for-whole-number",
        ),
        pytest.param(
            env_with({"deployment": {"max_5xx_ratio": "0.05"}}),
            f"{MODEL}, field 'models[0].deployment.max_5xx_ratio': must be a number such as "
            '0.05, not the string "0.05"; remove the quotes',
            id="quoted-number",
        ),
        pytest.param(
            env_with({}, account=123456789012),
            f"{PROD}, field 'account': must be a string in double quotes, not the number "
            '123456789012; write "123456789012"',
            id="number-for-string",
        ),
        pytest.param(
            env_with({}, alert_emails="oncall@example.com"),
            f"{PROD}, field 'alert_emails': must be a list in square brackets, not the string "
            '"oncall@example.com"; write ["oncall@example.com"]',
            id="string-for-list",
        ),
        pytest.param(
            env_with({"alarms": "strict"}),
            f"{MODEL}, field 'models[0].alarms': must be an object in braces, "
            '{"field": value, ...}, not the string "strict"; see the configuration reference '
            "in the README",
            id="string-for-object",
        ),
        pytest.param(
            env_with({"autoscaling": {"min_capacity": 2, "target_invocations_per_instance": 5}}),
            f"{MODEL}, field 'models[0].autoscaling.max_capacity': required; add it (see the "
            "configuration reference in the README)",
            id="missing-field",
        ),
        pytest.param(
            env_with({"instance_typ": "ml.c5.xlarge"}),
            f"{MODEL}, field 'models[0].instance_typ': unknown field (a typo?); did you mean "
            "'instance_type'?",
            id="misspelled-field",
        ),
        pytest.param(
            env_with({"alarms": {"invocation_5xx_error": 3}}),
            f"{MODEL}, field 'models[0].alarms.invocation_5xx_error': unknown field (a typo?); "
            "did you mean 'invocation_5xx_errors'?",
            id="misspelled-nested-field",
        ),
        pytest.param(
            env_with({"flavour": "vanilla"}),
            f"{MODEL}, field 'models[0].flavour': unknown field (a typo?); remove it or check "
            "the config reference in the README",
            id="unknown-field",
        ),
        pytest.param(
            env_with({}, api={"auth": "IAM"}),
            f'{PROD}, field \'api.auth\': must be one of "iam", "api_key", not the string '
            '"IAM"; did you mean "iam"?',
            id="choice-in-capitals",
        ),
        pytest.param(
            env_with({"initial_instance_count": 0}),
            f"{MODEL}, field 'models[0].initial_instance_count': must be at least 1, not 0",
            id="below-minimum",
        ),
        pytest.param(
            env_with({"allowed_content_types": [f"application/x-{n}" for n in range(21)]}),
            f"{MODEL}, field 'models[0].allowed_content_types': lists 21 items, at most 20 are "
            "allowed; remove 1",
            id="list-too-long",
        ),
        pytest.param(
            env_with({"name": ""}),
            f"{PROD}, model '', field 'models[0].name': must not be empty; write a value or "
            "remove the field",
            id="empty-string",
        ),
        pytest.param(
            env_with({"container_environment": {"WORKERS": 4}}),
            f"{MODEL}, field 'models[0].container_environment.WORKERS': must be a string in "
            'double quotes, not the number 4; write "4"',
            id="number-in-string-map",
        ),
        pytest.param(
            env_with({"instance_type": "ml.zz9.xlarge"}),
            f"{MODEL}, field 'models[0].instance_type': unknown instance type 'ml.zz9.xlarge' "
            f"for SageMaker hosting; did you mean 'ml.t2.xlarge'? {VALID_TYPES}",
            id="unknown-instance-type",
        ),
        pytest.param(
            env_with({"instance_type": "ml.c5.xlarg"}),
            f"{MODEL}, field 'models[0].instance_type': unknown instance type 'ml.c5.xlarg' "
            f"for SageMaker hosting; did you mean 'ml.c5.xlarge'? {VALID_TYPES}",
            id="misspelled-instance-type",
        ),
    ],
)
def test_the_message_names_the_field_and_what_to_write(
    tmp_path: Path, body: dict[str, Any], message: str
) -> None:
    assert error_for(tmp_path, body) == message


def test_a_quoted_production_flag_no_longer_passes_as_non_production(tmp_path: Path) -> None:
    """Before, "true" failed the ``is True`` test of the production defaults yet validated as
    true: a production environment without canary or data capture."""
    message = error_for(tmp_path, env_with({}, production="true"))
    assert "field 'production'" in message
    env = load_environment(write_env(tmp_path, "prod", env_with({}, production=True)))
    assert env.canary.enabled and env.models[0].data_capture.enabled
