"""The run: the one value every step of a pipeline execution shares.

A run is a series, a run id, a run date, and where its lake is: a lake root (a folder, or
`s3://bucket`) and a lake prefix (`""` for the real lake, `"smoke"` for smoke runs, whose zones
live under `<root>/smoke/`). Its defaults and rules are defined here, once; each entry point only
translates its own input into a `Run` and passes it on:

    ipeacast run (CLI)        Run.from_fields(args, name=cli_flag)      (ipeacast.cli)
    Glue job arguments        Run.from_fields(args, name=glue_flag)     (ipeacast.etl.glue_args)
    Step Functions input      Run.from_input(input)                     (ipeacast.deploy)
                              Run.from_fields(event, name=input_field)  (ipeacast.aws, Lambda)
    hyperparameters           Run.from_fields(hp, name=hyperparameter)  (core.hyperparameters)

The state machine applies the same defaults (its DefaultRun state) and prefix rule (CheckInput);
`tests/test_run_contract.py` runs one table of examples through both.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ipeacast.core.errors import ConfigError
from ipeacast.core.uri import join

DEFAULT_SERIES = "EIA366_PBRENT366"
DEFAULT_LAKE = "lake"
# The lake prefixes a run may use: the real lake, and the folder smoke runs write under. The roles
# reach exactly these roots (infra/stack/main.tf `lake_roots`, checked against this tuple).
SMOKE_LAKE_PREFIX = "smoke"
LAKE_PREFIXES = ("", SMOKE_LAKE_PREFIX)
# The fields of a run in the execution input, the Glue arguments and the hyperparameters.
RUN_FIELDS = ("series", "run_id", "run_date")

# Every pattern here is used with fullmatch: `re.match` with `$` also accepts a trailing "\n".
_SERIES_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# A run id names folders, SageMaker jobs and executions: 1-48 letters, digits or '-'.
_RUN_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,47}")


def check_series(series: Any, what: str = "series code") -> str:
    """Return the series code if it is safe to use in a path, else raise ConfigError."""
    if not isinstance(series, str) or not _SERIES_RE.fullmatch(series):
        raise ConfigError(
            f"invalid {what} {series!r}: use letters, digits, '_', '.', '-' (1-64 chars)"
        )
    return series


def check_run_id(value: Any, what: str = "run id") -> str:
    """The run id if it is 1-48 letters, digits or '-' starting with one; else ConfigError."""
    if not isinstance(value, str) or not _RUN_ID_RE.fullmatch(value):
        raise ConfigError(
            f"{what} {value!r} must be 1-48 letters, digits or '-', starting with a letter or digit"
        )
    return value


def check_lake_prefix(value: Any, what: str = "lake_prefix") -> str:
    """The run's lake prefix if it is one of LAKE_PREFIXES ("" or "smoke"); else ConfigError."""
    if not isinstance(value, str) or value not in LAKE_PREFIXES:
        raise ConfigError(
            f"{what} {value!r} must be empty (the lake) or {SMOKE_LAKE_PREFIX!r} (a smoke run)"
        )
    return value


def parse_date(value: str | date | None, name: str) -> date | None:
    """Parse YYYY-MM-DD, naming the argument in the error."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name} must be a date YYYY-MM-DD, got {value!r}") from exc


def default_run_id(now: datetime) -> str:
    """`YYYYMMDD-HHMMSS`: when the run started (UTC), whatever its run date (a backdated run's
    id still says when it ran); the state machine's DefaultRun state derives the same."""
    return f"{now.astimezone(UTC):%Y%m%d-%H%M%S}"


# How each entry point spells a run field in its errors.
def cli_flag(field: str) -> str:
    return "--" + field.replace("_", "-")


def glue_flag(field: str) -> str:
    return "--" + field


def input_field(field: str) -> str:
    return f"execution input field {field!r}"


def hyperparameter(field: str) -> str:
    return f"hyperparameter {field!r}"


@dataclass(frozen=True)
class Run:
    """One pipeline run: fixed once at its start, then passed to every step."""

    series: str
    run_id: str
    run_date: date
    lake_root: str = DEFAULT_LAKE
    lake_prefix: str = ""

    def __post_init__(self) -> None:
        check_series(self.series)
        check_run_id(self.run_id)
        if not isinstance(self.run_date, date) or isinstance(self.run_date, datetime):
            raise ConfigError(f"run date must be a date, got {self.run_date!r}")
        if not isinstance(self.lake_root, str):
            raise ConfigError(f"lake root must be a string, got {self.lake_root!r}")
        check_lake_prefix(self.lake_prefix)

    @classmethod
    def create(
        cls,
        series: str = DEFAULT_SERIES,
        run_date: date | None = None,
        run_id: str | None = None,
        lake_root: str = DEFAULT_LAKE,
        lake_prefix: str = "",
        now: datetime | None = None,
    ) -> Run:
        """A run with the defaults applied: run date today (UTC), run id from the start time."""
        now = (now or datetime.now(UTC)).astimezone(UTC)
        day = run_date or now.date()
        return cls(series, run_id or default_run_id(now), day, lake_root, lake_prefix)

    @classmethod
    def from_fields(
        cls,
        values: Mapping[str, Any],
        *,
        name: Callable[[str], str],
        lake_root: str = DEFAULT_LAKE,
        required: tuple[str, ...] = (),
        none_is_absent: bool = True,
        default_date: date | None = None,
        now: datetime | None = None,
    ) -> Run:
        """A run from an entry point's fields (`series`, `run_id`, `run_date`, `lake_prefix`).

        Values are strings; None or "" means not given, except for the `required` fields. Errors
        name the field as the entry point spells it (`name`, e.g. `cli_flag`). A JSON input
        (`none_is_absent=False`) may not send null for a field, as the state machine's own
        check refuses it. The run date
        defaults to `default_date` (the CLI's --as-of), else today; the run id to
        `default_run_id`; the series to DEFAULT_SERIES; the prefix to "".
        """
        if not isinstance(values, Mapping):
            raise ConfigError(f"the run must be an object, got {type(values).__name__}")
        for key in required:
            if not isinstance(values.get(key), str) or not values[key]:
                raise ConfigError(f"{name(key)} is missing or not a non-empty string")
        for key in (*RUN_FIELDS, "lake_prefix"):
            given = values.get(key) is not None or (key in values and not none_is_absent)
            if given and not isinstance(values[key], str):
                raise ConfigError(f"{name(key)} must be a string, got {values[key]!r}")
        series = values.get("series") or DEFAULT_SERIES
        check_series(series, f"series code ({name('series')})")
        run_id = values.get("run_id") or None
        if run_id is not None:
            check_run_id(run_id, name("run_id"))
        day = parse_date(values.get("run_date") or None, name("run_date")) or default_date
        prefix = check_lake_prefix(values.get("lake_prefix") or "", name("lake_prefix"))
        return cls.create(series, day, run_id, lake_root, prefix, now)

    @classmethod
    def from_input(
        cls, values: Mapping[str, Any], lake_root: str = DEFAULT_LAKE, now: datetime | None = None
    ) -> Run:
        """A run from the state machine's execution input: `{series, run_id?, run_date?,
        lake_prefix?}`, JSON (a field sent as null is an error, as the state machine's checks
        make it). The defaults are the state machine's too: its DefaultRun state derives the run
        date and id from the execution's start time (`now`), as `create` does."""
        return cls.from_fields(
            values,
            name=input_field,
            lake_root=lake_root,
            required=("series",),
            none_is_absent=False,
            now=now,
        )

    @property
    def lake(self) -> str:
        """Where this run reads and writes its zones: the lake root plus the lake prefix."""
        return join(self.lake_root, self.lake_prefix)

    @property
    def is_smoke(self) -> bool:
        return self.lake_prefix == SMOKE_LAKE_PREFIX

    def to_input(self) -> dict[str, str]:
        """The execution input of this run (the state machine's input contract)."""
        return {
            "series": self.series,
            "run_id": self.run_id,
            "run_date": self.run_date.isoformat(),
            "lake_prefix": self.lake_prefix,
        }

    def to_hyperparameters(self) -> dict[str, str]:
        """The run's fields as training hyperparameters (strings, the SageMaker contract)."""
        return {
            "series": self.series,
            "run_id": self.run_id,
            "run_date": self.run_date.isoformat(),
        }
