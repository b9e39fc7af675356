"""The lake's name checks: series codes, run ids and lake prefixes are matched whole."""

import pytest

from ipeacast.errors import ConfigError
from ipeacast.lake import check_lake_prefix, check_run_id, check_series


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (check_series, "EIA366_PBRENT366"),
        (check_run_id, "20261126-100001"),
        (check_lake_prefix, "smoke"),
        (check_lake_prefix, ""),
    ],
)
def test_a_trailing_newline_is_rejected(check, value):
    # `re.match` with `$` accepts "value\n", which would then name a folder or an S3 key.
    assert check(value) == value

    with pytest.raises(ConfigError):
        check(value + "\n")
