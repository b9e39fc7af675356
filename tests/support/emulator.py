"""The emulated AWS account of the deploy rehearsal: a moto server on 127.0.0.1 that runs our code.

`Emulator` starts, in this process:
- moto's server (`ThreadedMotoServer`) on a free port of 127.0.0.1, with Step Functions executions
  on (moto's ASL interpreter runs the state machine) and every patch of `moto_patches` applied;
  the server is a thread of this process, so the patches apply to what it serves;
- the runners of `runners` behind those patches: Glue job runs, Lambda invocations and training
  jobs execute the deployed artifacts in processes of their own;
- the WebHDFS gateway (`s3_webhdfs`) that gives the Glue jobs' local Spark the emulated S3, and
  the fake Ipeadata (`fake_ipeadata`) that the extract job reaches through `HTTP_PROXY`;
- the account-host proxy (`host_proxy`) for S3 Control, which the SDKs address as
  `<account>.<endpoint host>`: Terraform reaches it through `HTTP_PROXY` (`env()`).

`env()` is the environment for anything pointed at the emulator (Terraform, the deploy verbs):
dummy credentials, `AWS_ENDPOINT_URL`, region. Nothing here reaches beyond 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from pathlib import Path
from typing import Any

from moto.core.config import default_user_config
from moto.server import ThreadedMotoServer

from . import moto_patches, runners
from .fake_ipeadata import FakeIpeadata
from .host_proxy import AccountHostProxy
from .s3_webhdfs import S3WebHdfsGateway, spark_conf, spark_defaults_text

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account for the dummy credentials
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    """The moto server with our runners; use as a context manager."""

    def __init__(self, work: Path, awsglue_path: Path, series: list[str], registry: Path):
        self.work = work
        self.series = series
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.runtime = runners.Runtime(
            endpoint=self.endpoint,
            work=work / "runs",
            logs=work / "logs",
            awsglue_path=awsglue_path,
            registry=registry,
            region=REGION,
        )
        self.patched: moto_patches.Patched | None = None
        self._stack = contextlib.ExitStack()
        self.host_proxy = AccountHostProxy(self.port, REGION)  # bound now, served in __enter__

    def env(self) -> dict[str, str]:
        return {
            **CREDENTIALS,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
            "HTTP_PROXY": self.host_proxy.url,
            "http_proxy": self.host_proxy.url,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }

    def client(self, service: str) -> Any:
        return self.runtime.client(service)

    def __enter__(self) -> Emulator:
        # This process belongs to the rehearsal: its own AWS calls (and moto's interpreter,
        # which calls the services through MOTO_PORT) go to the emulator.
        os.environ.update(self.env())
        os.environ["MOTO_PORT"] = str(self.port)
        for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            os.environ.pop(name, None)
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        default_user_config["stepfunctions"]["execute_state_machine"] = True
        self.patched = self._stack.enter_context(moto_patches.patched())
        self.patched.glue_runner = self._run_glue
        self.patched.lambda_runner = lambda fn, event, env: runners.run_lambda(
            self.runtime, fn, event, env
        )
        self.patched.on_training = lambda request: runners.run_training_job(self.runtime, request)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        server.start()
        self._stack.callback(server.stop)
        self.host_proxy.start()
        self._stack.callback(self.host_proxy.stop)
        gateway = S3WebHdfsGateway(self.endpoint, REGION).start()
        self._stack.callback(gateway.stop)
        self.gateway = gateway
        ipeadata = FakeIpeadata(self.series).start()
        self._stack.callback(ipeadata.stop)
        self.ipeadata = ipeadata
        self.runtime.http_proxy = ipeadata.url
        return self

    def __exit__(self, *exc: object) -> None:
        self._stack.close()

    def _run_glue(self, job: Any, run: Any) -> str | None:
        # Mount every bucket that exists now: Spark's s3:// paths need their mount table.
        buckets = [b["Name"] for b in self.client("s3").list_buckets()["Buckets"]]
        conf_dir = self.work / "spark-conf"
        conf_dir.mkdir(parents=True, exist_ok=True)
        text = spark_defaults_text(spark_conf(self.gateway.port, buckets))
        (conf_dir / "spark-defaults.conf").write_text(text)
        self.runtime.spark_conf_dir = conf_dir
        return runners.run_glue_job(self.runtime, job, run)
