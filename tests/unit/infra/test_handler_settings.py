"""The handlers' settings: one model reads the environment, documents every variable, and says what to set."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.aws.handlers import environment
from infra.aws.handlers.environment import HandlerSettings, ProcessSettings, variables
from infra.config import ConfigError

MINIMAL = {"STDS_TABLE_PREFIX": "stds-test-", "STDS_EVENT_BUS": "stds-test-bus"}


def documented_variables() -> dict[str, str]:
    """The module docstring's table: each variable (a row may name two) → who sets it."""
    assert environment.__doc__ is not None
    rows = [line.split("|")[1:3] for line in environment.__doc__.splitlines() if line.startswith("| `")]
    return {name.strip(" `"): setter.strip() for names, setter in rows for name in names.split(" / ")}


def test_the_table_documents_exactly_the_variables_the_model_reads() -> None:
    assert documented_variables().keys() == variables(HandlerSettings)
    assert variables(ProcessSettings) < variables(HandlerSettings)


def test_the_model_reads_its_variables_with_their_defaults() -> None:
    environ = {**MINIMAL, "LAMBDA_TASK_ROOT": "/var/task", "STDS_EXCHANGE_SANDBOX": "true", "UNRELATED": "x"}
    settings = HandlerSettings.read(environ)
    assert settings.strategies_file == Path("/var/task/strategies.toml")
    assert (settings.broker, settings.exchange, settings.exchange_sandbox) == ("paper", "binance", True)
    assert (settings.event_bus, settings.topic_arn, settings.bar_bucket) == ("stds-test-bus", None, None)
    assert HandlerSettings.read({**MINIMAL, "STDS_CONFIG": "/etc/s.toml"}).strategies_file == Path("/etc/s.toml")


def test_a_missing_required_variable_is_named_with_what_it_must_hold() -> None:
    with pytest.raises(ConfigError, match=r"^STDS_TABLE_PREFIX is not set: it must hold the DynamoDB table"):
        HandlerSettings.read({"STDS_EVENT_BUS": "bus"})
    with pytest.raises(ConfigError, match=r"^STDS_TABLE_PREFIX is not set"):
        HandlerSettings.read({**MINIMAL, "STDS_TABLE_PREFIX": ""})  # empty is unset
    settings = HandlerSettings.read(MINIMAL)
    with pytest.raises(ConfigError, match=r"^STDS_STRATEGY is not set: it must hold the strategy instance name"):
        settings.required_strategy()
    with pytest.raises(ConfigError, match=r"^STDS_BAR_BUCKET is not set: it must hold the S3 bucket"):
        settings.required_bar_bucket()


def test_a_wrong_value_is_named_with_the_value_and_what_is_expected() -> None:
    with pytest.raises(ConfigError, match=r"^STDS_BROKER='live': .*'paper' or 'ccxt'; it must hold paper or ccxt$"):
        HandlerSettings.read({**MINIMAL, "STDS_BROKER": "live"})
    with pytest.raises(ConfigError, match=r"^STDS_XRAY_SDK='maybe': .*; it must hold true or false$"):
        ProcessSettings.read({"STDS_XRAY_SDK": "maybe"})


def test_exactly_one_destination_for_events() -> None:
    for environ in ({"STDS_TABLE_PREFIX": "p-"}, {**MINIMAL, "STDS_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:1:t"}):
        with pytest.raises(ConfigError, match=r"set exactly one of STDS_EVENT_BUS .* or STDS_SNS_TOPIC_ARN"):
            HandlerSettings.read(environ)


def test_the_exchange_keys_never_show_in_the_settings() -> None:
    settings = HandlerSettings.read({**MINIMAL, "STDS_EXCHANGE_API_KEY": "key-42", "STDS_EXCHANGE_SECRET": "sec-42"})
    assert "key-42" not in repr(settings) and "sec-42" not in repr(settings)
    assert settings.exchange_secret is not None and settings.exchange_secret.get_secret_value() == "sec-42"
