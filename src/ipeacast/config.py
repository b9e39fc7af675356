"""Run configuration: one frozen dataclass built once from arguments, then passed down."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ipeacast import DEFAULT_SERIES
from ipeacast.errors import ConfigError
from ipeacast.lake import check_run_id, check_series


def parse_date(value: str | date | None, name: str) -> date | None:
    """Parse YYYY-MM-DD, naming the argument in the error."""
    if value is None or isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a date YYYY-MM-DD, got {value!r}") from exc


def default_run_id(run_date: date, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    return f"{run_date:%Y%m%d}-{now:%H%M%S}"


@dataclass(frozen=True)
class RunConfig:
    """Everything one pipeline run needs; `run_date` and `run_id` are fixed once at the start."""

    series: str = DEFAULT_SERIES
    lake: str = "lake"
    source: str | None = None
    run_date: date = field(default_factory=lambda: datetime.now(UTC).date())
    as_of: date | None = None
    run_id: str = ""
    min_months: int = 24

    def __post_init__(self) -> None:
        check_series(self.series)
        if not self.run_id:
            object.__setattr__(self, "run_id", default_run_id(self.run_date))
        check_run_id(self.run_id, "run id")
        if self.as_of is not None and self.as_of > self.run_date:
            raise ConfigError(f"--as-of {self.as_of} is after the run date {self.run_date}")
        if self.min_months < 1:
            raise ConfigError(f"min_months must be >= 1, got {self.min_months}")

    @classmethod
    def from_strings(
        cls,
        series: str,
        lake: str,
        run_date: str | None = None,
        as_of: str | None = None,
        run_id: str | None = None,
        source: str | None = None,
        min_months: str | None = None,
        separator: str = "-",
    ) -> RunConfig:
        """A RunConfig from command-line or job arguments: strings, None or "" when not given.

        Errors name the argument as the caller spells it: `--run-date` for the CLI (separator
        "-"), `--run_date` for a Glue job (separator "_"). The run date defaults to the as-of
        date, else today; the run id to one derived from the run date and the time.
        """

        def flag(name: str) -> str:
            return "--" + name.replace("_", separator)

        as_of_date = parse_date(as_of or None, flag("as_of"))
        kwargs: dict = {
            "series": series,
            "lake": lake,
            "source": source or None,
            "as_of": as_of_date,
        }
        day = parse_date(run_date or None, flag("run_date")) or as_of_date
        if day is not None:
            kwargs["run_date"] = day
        if run_id:
            kwargs["run_id"] = run_id
        if min_months:
            try:
                kwargs["min_months"] = int(min_months)
            except ValueError as exc:
                raise ConfigError(
                    f"{flag('min_months')} must be an integer: {min_months!r}"
                ) from exc
        return cls(**kwargs)

    @property
    def cutoff(self) -> date:
        """The last date whose observations may be used: the as-of date, else the run date."""
        return self.as_of or self.run_date
