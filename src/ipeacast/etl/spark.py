"""The one SparkSession of a run: local[*] on a laptop, the existing session on Glue."""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from pyspark import SparkContext
from pyspark.sql import SparkSession

from ipeacast.core.errors import StorageError

# Local mode only: small shuffles (one local run handles one to a few thousand series). On Glue,
# the job's own configuration decides instead.
LOCAL_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": os.environ.get("IPEACAST_DRIVER_MEMORY", "2g"),
}
# Settings our code relies on, applied to any session (local or Glue): dates are computed in UTC,
# pandas frames go through Arrow, and series codes in `series=<code>` folders stay strings even
# when they look like numbers.
RUNTIME_CONF = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}


log = logging.getLogger(__name__)


def launched_by_spark_submit() -> bool:
    """True under spark-submit (Glue, EMR): the JVM started first and gave Python its gateway."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def get_spark(app_name: str = "ipeacast") -> SparkSession:
    """Return the active SparkSession, or start one: local[*] with our settings in a plain
    Python process, the cluster's own configuration under spark-submit (Glue)."""
    active = SparkSession.getActiveSession()
    if active is not None:
        for key, value in RUNTIME_CONF.items():
            active.conf.set(key, value)
        return active
    builder = SparkSession.builder.appName(app_name)
    if not launched_by_spark_submit():
        # Local mode: bind to loopback (no network needed) before the JVM starts.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = builder.master("local[*]")
        log4j = Path(__file__).with_name("log4j2.properties")
        java_options = [f"-Dlog4j2.configurationFile=file:{log4j}"]
        if os.environ.get("IPEACAST_JVM", "quick") == "quick":
            # A local run is a few seconds of many small jobs: the C1 compiler alone starts
            # producing fast code sooner (measured: the Brent transform+load 17 s -> 9 s).
            # IPEACAST_JVM=full keeps the optimising compiler for long local jobs.
            java_options += ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"]
        builder = builder.config("spark.driver.extraJavaOptions", " ".join(java_options))
        for key, value in LOCAL_CONF.items():
            builder = builder.config(key, value)
    for key, value in RUNTIME_CONF.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    # Spark's own error logs repeat, in hundreds of lines, what spark_errors turns into one line;
    # `ipeacast --verbose` (DEBUG) keeps them.
    verbose = logging.getLogger().isEnabledFor(logging.DEBUG)
    spark.sparkContext.setLogLevel("ERROR" if verbose or launched_by_spark_submit() else "FATAL")
    return spark


def java_root_cause(exc: BaseException) -> str | None:
    """The innermost cause of a Java exception surfaced through Py4J or PySpark, as Java prints
    it (`java.io.IOException: No space left on device`); None for a Python exception."""
    java = getattr(exc, "java_exception", None)  # Py4JJavaError
    if java is None:
        java = getattr(exc, "_origin", None)  # pyspark.errors CapturedException
    if java is None:
        return None
    try:
        seen = 0
        while java.getCause() is not None and seen < 50:
            java = java.getCause()
            seen += 1
        return str(java.toString())
    except Exception:  # the JVM may be unusable after the failure: say what we can
        return type(exc).__name__


@contextlib.contextmanager
def spark_errors(doing: str) -> Iterator[None]:
    """Turn a Java failure inside the block into a StorageError: `doing` and the root cause."""
    try:
        yield
    except Exception as exc:
        cause = java_root_cause(exc)
        if cause is None:
            raise
        raise StorageError(f"{doing}: {cause}") from exc


@contextlib.contextmanager
def spark_session(app_name: str = "ipeacast") -> Iterator[SparkSession]:
    """`get_spark` for one block: a session this block started is stopped when it ends, with its
    JVM, so what follows (training) runs without the JVM's memory and the process leaves nothing
    behind. A session that was already active (Glue's, a caller's) is left running."""
    owned = SparkSession.getActiveSession() is None and not launched_by_spark_submit()
    spark = get_spark(app_name)
    try:
        yield spark
    finally:
        if owned:
            stop_spark(spark)


def stop_spark(spark: SparkSession, timeout: float = 60.0) -> None:
    """Stop the session and the local JVM behind it (PySpark keeps the JVM for reuse otherwise).

    The JVM PySpark launches (`PythonGatewayServer`) exits when its standard input closes; the
    gateway's connections are shut first, so no Py4J thread talks to a JVM that is going away.
    """
    spark.stop()
    gateway = SparkContext._gateway
    if gateway is None:
        return
    proc = getattr(gateway, "proc", None)
    gateway.shutdown()
    SparkContext._gateway = None
    SparkContext._jvm = None
    if proc is None:
        return
    if proc.stdin is not None:
        proc.stdin.close()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        log.warning("Spark JVM (pid %d) still running after %.0fs: terminating", proc.pid, timeout)
        proc.terminate()
        proc.wait(timeout)
