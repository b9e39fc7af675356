"""The training job's contract: its input channel and its hyperparameters (SageMaker passes
every value as a string).

Shared by the side that builds the job (`ipeacast.aws.training_job`, in the Lambda) and the side
that runs it (`ipeacast.ml.trainer`, in the container): the run's fields travel as the
`series`, `run_id` and `run_date` hyperparameters and come back as a `Run`; every other
hyperparameter is a field of the model's configuration, parsed here and checked by the trainer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from ipeacast.core.errors import ConfigError
from ipeacast.core.run import DEFAULT_SERIES, RUN_FIELDS, Run, hyperparameter

CHANNEL = "train"
# Optional: the forecasts published earlier for the series (its predictions/ partitions), which
# the trainer scores against the realised months of the train channel (ipeacast.ml.accuracy).
FORECASTS_CHANNEL = "forecasts"


def _int(name: str, text: str) -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ConfigError(f"hyperparameter {name!r} must be an integer, got {text!r}") from None


def _float(name: str, text: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ConfigError(f"hyperparameter {name!r} must be a number, got {text!r}") from None


def _features(name: str, text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _month(name: str, text: str) -> str:
    try:
        return datetime.strptime(text.strip(), "%Y-%m").strftime("%Y-%m")
    except ValueError:
        raise ConfigError(
            f"hyperparameter {name!r} must be a month YYYY-MM, got {text!r}"
        ) from None


def _date(name: str, text: str) -> str:
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise ConfigError(
            f"hyperparameter {name!r} must be a date YYYY-MM-DD, got {text!r}"
        ) from None


def _text(name: str, text: str) -> str:
    if not text.strip():
        raise ConfigError(f"hyperparameter {name!r} must not be empty")
    return text.strip()


# name -> (parser, ModelConfig field or None for a field of the run, help)
HYPERPARAMETERS: dict[str, tuple[Callable[[str, str], Any], str | None, str]] = {
    "series": (_text, None, f"series code (default {DEFAULT_SERIES})"),
    "run_id": (_text, None, "pipeline run id written into the forecast rows (default: derived)"),
    "run_date": (_date, None, "pipeline run date YYYY-MM-DD (default: today, UTC)"),
    "horizons": (_int, "horizons", "number of months forecast, M+1..M+H (default 6)"),
    "features": (_features, "features", "comma-separated model features (default gap_avg)"),
    "alpha": (_float, "alpha", "ridge penalty (default 1.0)"),
    "refit_every": (_int, "refit_every", "refit the model every N backtest origins (default 1)"),
    "min_train_rows": (_int, "min_train_rows", "rows needed to fit a horizon (default 36)"),
    "interval_level": (_float, "interval_level", "nominal interval coverage (default 0.8)"),
    "conformal_window": (_int, "conformal_window", "residuals used per interval (default 120)"),
    "conformal_gamma": (_float, "conformal_gamma", "adaptive conformal step, 0 = off (default 0)"),
    "min_calibration": (_int, "min_calibration", "errors needed for intervals/champion (24)"),
    "interval_scale": (
        _text,
        "interval_scale",
        "interval scale: monthly, daily, blend or max (default monthly; docs/model.md)",
    ),
    "interval_vol_months": (_int, "interval_vol_months", "months of daily volatility (default 2)"),
    "backtest_start": (_month, "backtest_start", "first backtest origin YYYY-MM (default: first)"),
}


# The hyperparameters that are fields of the run: set from the run, never by deployment.
RUN_HYPERPARAMETERS = frozenset(RUN_FIELDS)
assert {k for k, (_, fld, _) in HYPERPARAMETERS.items() if fld is None} == RUN_HYPERPARAMETERS


def parse_hyperparameters(raw: Mapping[str, Any]) -> tuple[Run, dict[str, Any]]:
    """Validate the hyperparameters (all strings): the run, and the model configuration's fields.

    Run fields that are absent take the run's defaults (ipeacast.core.run); the model's fields
    are checked by the trainer when it builds its ModelConfig.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError("hyperparameters.json must hold a JSON object")
    run_fields: dict[str, str] = {}
    fields: dict[str, Any] = {}
    for name, value in raw.items():
        if name.startswith("sagemaker_"):
            continue  # set by SageMaker SDKs; not ours
        if name not in HYPERPARAMETERS:
            raise ConfigError(
                f"unknown hyperparameter {name!r}; known: {', '.join(sorted(HYPERPARAMETERS))}"
            )
        if not isinstance(value, str):
            raise ConfigError(
                f"hyperparameter {name!r} must be a string (SageMaker contract), got "
                f"{type(value).__name__} {value!r}"
            )
        parser, field, _ = HYPERPARAMETERS[name]
        parsed = parser(name, value)
        if field is None:
            run_fields[name] = parsed
        else:
            fields[field] = parsed
    # The trainer never sees the lake: the run's lake root stays the default.
    return Run.from_fields(run_fields, name=hyperparameter), fields
