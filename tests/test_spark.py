"""The SparkSession: local settings in a plain process, the cluster's own under spark-submit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyspark
import pytest

pytestmark = pytest.mark.spark

PROBE = """
from ipeacast.etl.spark import get_spark
spark = get_spark()
conf = spark.sparkContext.getConf()
print("master=" + spark.sparkContext.master)
print("shuffle=" + spark.conf.get("spark.sql.shuffle.partitions"))
print("inference=" + spark.conf.get("spark.sql.sources.partitionColumnTypeInference.enabled"))
print("tz=" + spark.conf.get("spark.sql.session.timeZone"))
print("adaptive=" + spark.conf.get("spark.sql.adaptive.enabled"))
"""


def probe(tmp_path: Path, command: list[str]) -> dict[str, str]:
    script = tmp_path / "probe.py"
    script.write_text(PROBE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    env["PYSPARK_PYTHON"] = sys.executable
    out = subprocess.run(
        [*command, str(script)], capture_output=True, text=True, env=env, timeout=180, check=True
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_a_plain_python_process_gets_local_mode_with_our_settings(tmp_path):
    got = probe(tmp_path, [sys.executable])
    assert got["master"] == "local[*]"
    assert got["shuffle"] == "2"
    assert got["inference"] == "false" and got["tz"] == "UTC"
    assert got["adaptive"] == "true"  # Spark's default since 3.2: we need not set it


def test_under_spark_submit_the_cluster_configuration_wins(tmp_path):
    """As on Glue: spark-submit chose the master; we must not force local mode or our sizes."""
    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    got = probe(tmp_path, [str(submit), "--master", "local[1]"])
    assert got["master"] == "local[1]"
    assert got["shuffle"] == "200"  # Spark's default, not our local tuning
    assert got["inference"] == "false" and got["tz"] == "UTC"  # what our code relies on


LIFECYCLE = """
import os
from pathlib import Path

from ipeacast.etl.spark import spark_session


def children() -> set[int]:
    me = str(os.getpid())
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == me:  # ppid
            found.add(int(stat.parent.name))
    return found


for attempt in (1, 2):  # a second session in the same process starts a new JVM
    with spark_session() as spark:
        assert spark.range(5).count() == 5
        jvm = children()
        print(f"during{attempt}=" + ",".join(map(str, sorted(jvm))))
    print(f"after{attempt}=" + ",".join(map(str, sorted(children()))))
    print(f"alive{attempt}=" + ",".join(str(p) for p in sorted(jvm) if Path(f"/proc/{p}").exists()))
"""


def test_a_session_the_block_started_stops_with_its_jvm(tmp_path):
    """What `ipeacast run` relies on before training: after the block no JVM, no child at all."""
    got = probe_script(tmp_path, LIFECYCLE)
    for attempt in ("1", "2"):
        assert got[f"during{attempt}"], "the session should have started a JVM child"
        assert got[f"after{attempt}"] == "", f"children left after the block: {got}"
        assert got[f"alive{attempt}"] == "", f"the JVM still runs: {got}"


def test_a_session_that_was_already_active_is_left_running(spark):
    from ipeacast.etl.spark import spark_session

    with spark_session() as inner:
        assert inner is spark
    assert spark.range(3).count() == 3  # the caller's session still works


def probe_script(tmp_path: Path, text: str) -> dict[str, str]:
    script = tmp_path / "lifecycle.py"
    script.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    env["PYSPARK_PYTHON"] = sys.executable
    out = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
