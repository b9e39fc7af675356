"""The WebHDFS gateway onto S3 (tests/support/s3_webhdfs.py) that gives local Spark `s3://` paths.

Against a moto server on 127.0.0.1: the REST operations over HTTP, as Hadoop's WebHDFS client
sends them; the Spark settings that mount the buckets; and one local Spark run (in a subprocess,
started once for the whole file) that writes, reads and overwrites a partitioned Parquet table at
`s3://lake/zone/t`, checked from this process with boto3.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from botocore.config import Config
from moto.server import ThreadedMotoServer
from support.s3_webhdfs import PREFIX, S3WebHdfsGateway, spark_conf, spark_defaults_text

REGION = "us-east-1"
SRC = Path(__file__).resolve().parents[1] / "src"
_buckets = itertools.count()


# ------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1, with dummy credentials in the environment for the module."""
    werkzeug = logging.getLogger("werkzeug")
    level = werkzeug.level
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            mp.setenv(name, "testing")
        mp.setenv("AWS_DEFAULT_REGION", REGION)
        mp.setenv("AWS_REGION", REGION)
        for name in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            mp.delenv(name, raising=False)
        mp.delenv("AWS_ENDPOINT_URL", raising=False)
        werkzeug.setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        try:
            yield f"http://{host}:{port}"
        finally:
            server.stop()
            werkzeug.setLevel(level)


@pytest.fixture(scope="module")
def s3(moto_endpoint: str) -> Any:
    config = Config(region_name=REGION, s3={"addressing_style": "path"})
    return boto3.client("s3", endpoint_url=moto_endpoint, config=config)


@pytest.fixture(scope="module")
def gateway(moto_endpoint: str) -> Iterator[S3WebHdfsGateway]:
    with S3WebHdfsGateway(moto_endpoint, REGION) as started:
        yield started


class WebHdfs:
    """A minimal WebHDFS client, speaking to the gateway as Hadoop's WebHdfsFileSystem does."""

    def __init__(self, gateway: S3WebHdfsGateway):
        self.base = gateway.url + PREFIX
        self.http = requests.Session()
        self.http.trust_env = False  # loopback only, never through a proxy

    def call(self, method: str, path: str, op: str, data: Any = None, **params: str):
        params = {"op": op, "user.name": "test", **params}
        return self.http.request(
            method, self.base + path, params=params, data=data, allow_redirects=False, timeout=30
        )

    def create(self, path: str, data: Any, **params: str) -> requests.Response:
        """CREATE in its two steps: the redirect, then the data PUT to the Location."""
        first = self.call("PUT", path, "CREATE", **params)
        if first.status_code != 307:
            return first
        return self.http.put(first.headers["Location"], data=data, timeout=30)

    def write(self, path: str, data: bytes = b"x") -> None:
        answer = self.create(path, data, overwrite="true")
        assert answer.status_code == 201, answer.text

    def boolean(self, method: str, path: str, op: str, **params: str) -> bool:
        answer = self.call(method, path, op, **params)
        assert answer.status_code == 200, answer.text
        return answer.json()["boolean"]

    def stat(self, path: str) -> dict[str, Any] | None:
        answer = self.call("GET", path, "GETFILESTATUS")
        if answer.status_code == 404:
            return None
        assert answer.status_code == 200, answer.text
        return answer.json()["FileStatus"]

    def kind(self, path: str) -> str | None:
        found = self.stat(path)
        return found and found["type"]

    def listing(self, path: str) -> list[tuple[str, str, int]]:
        answer = self.call("GET", path, "LISTSTATUS")
        assert answer.status_code == 200, answer.text
        entries = answer.json()["FileStatuses"]["FileStatus"]
        return [(e["pathSuffix"], e["type"], e["length"]) for e in entries]

    def read(self, path: str, **params: str) -> bytes:
        answer = self.call("GET", path, "OPEN", **params)
        assert answer.status_code == 200, answer.text
        return answer.content


def remote_exception(answer: requests.Response) -> str:
    return answer.json()["RemoteException"]["exception"]


@pytest.fixture(scope="module")
def web(gateway: S3WebHdfsGateway) -> WebHdfs:
    return WebHdfs(gateway)


@pytest.fixture
def bucket(s3: Any) -> str:
    """A new, empty bucket for one test."""
    name = f"test-{next(_buckets)}"
    s3.create_bucket(Bucket=name)
    return name


def keys(s3: Any, bucket: str) -> list[str]:
    return sorted(obj["Key"] for obj in s3.list_objects_v2(Bucket=bucket).get("Contents", []))


def body(s3: Any, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


# -------------------------------------------------------------------------- CREATE and OPEN


def test_create_redirects_then_stores_the_data_put(web: WebHdfs, s3: Any, bucket: str):
    first = web.call("PUT", f"/{bucket}/dir/file.bin", "CREATE", overwrite="false")
    assert first.status_code == 307
    location = first.headers["Location"]
    assert location.startswith(f"{web.base}/{bucket}/dir/file.bin?")
    assert "datanode=true" in location
    assert keys(s3, bucket) == []  # the first step stores nothing

    payload = bytes(range(256)) * 300
    second = web.http.put(location, data=payload, timeout=30)
    assert second.status_code == 201
    assert keys(s3, bucket) == ["dir/file.bin"]
    assert body(s3, bucket, "dir/file.bin") == payload


def test_create_accepts_a_chunked_upload(web: WebHdfs, s3: Any, bucket: str):
    chunks = [b"first chunk;", b"", b"x" * 70_000, b"last"]
    first = web.call("PUT", f"/{bucket}/chunked", "CREATE")
    # A generator body goes out with Transfer-Encoding: chunked, as Java's client streams.
    second = web.http.put(first.headers["Location"], data=iter(chunks), timeout=30)
    assert second.status_code == 201
    assert body(s3, bucket, "chunked") == b"".join(chunks)


def test_open_serves_the_whole_file_or_a_range(web: WebHdfs, bucket: str):
    payload = bytes(range(256)) * 4
    web.write(f"/{bucket}/data.bin", payload)
    path = f"/{bucket}/data.bin"
    assert web.read(path) == payload
    assert web.read(path, offset="10", length="20") == payload[10:30]
    assert web.read(path, offset="1000") == payload[1000:]
    assert web.read(path, offset="1000", length="500") == payload[1000:]  # cut at the end
    assert web.read(path, offset="1024") == b""
    assert web.read(path, length="0") == b""

    beyond = web.call("GET", path, "OPEN", offset="1025")
    assert beyond.status_code == 403
    assert remote_exception(beyond) == "IOException"
    missing = web.call("GET", f"/{bucket}/nothing", "OPEN")
    assert missing.status_code == 404
    assert remote_exception(missing) == "FileNotFoundException"


def test_create_without_overwrite_refuses_an_existing_file(web: WebHdfs, s3: Any, bucket: str):
    web.write(f"/{bucket}/f", b"original")
    for params in ({"overwrite": "false"}, {}):  # overwrite defaults to false, as in WebHDFS
        refused = web.create(f"/{bucket}/f", b"new", **params)
        assert refused.status_code == 403
        assert remote_exception(refused) == "FileAlreadyExistsException"
    assert body(s3, bucket, "f") == b"original"

    assert web.create(f"/{bucket}/f", b"new", overwrite="true").status_code == 201
    assert body(s3, bucket, "f") == b"new"


def test_create_refuses_a_directory_or_a_path_below_a_file(web: WebHdfs, s3: Any, bucket: str):
    web.write(f"/{bucket}/d/f")
    on_directory = web.create(f"/{bucket}/d", b"x", overwrite="true")
    assert on_directory.status_code == 403
    assert remote_exception(on_directory) == "FileAlreadyExistsException"
    below_file = web.create(f"/{bucket}/d/f/g", b"x", overwrite="true")
    assert below_file.status_code == 403
    assert remote_exception(below_file) == "ParentNotDirectoryException"
    assert keys(s3, bucket) == ["d/f"]


# ------------------------------------------------------------------- GETFILESTATUS, LISTSTATUS


def test_getfilestatus_of_a_file(web: WebHdfs, bucket: str):
    web.write(f"/{bucket}/a/b.txt", b"12345")
    found = web.stat(f"/{bucket}/a/b.txt")
    assert found is not None
    assert found["type"] == "FILE"
    assert found["length"] == 5
    assert found["pathSuffix"] == ""
    assert found["modificationTime"] > 0


def test_getfilestatus_of_a_directory_that_is_only_a_prefix(web: WebHdfs, s3: Any, bucket: str):
    web.write(f"/{bucket}/a/b/c.txt")
    assert keys(s3, bucket) == ["a/b/c.txt"]  # no marker: the directories are prefixes
    for path in (f"/{bucket}/a", f"/{bucket}/a/b", f"/{bucket}/a/b/", f"/{bucket}"):
        found = web.stat(path)
        assert found is not None, path
        assert (found["type"], found["length"]) == ("DIRECTORY", 0)


def test_getfilestatus_of_a_missing_path_is_a_file_not_found(web: WebHdfs, bucket: str):
    web.write(f"/{bucket}/a/c.txt")
    # `a/c` is a prefix of the key `a/c.txt`, but not a directory.
    for path in (f"/{bucket}/a/c", f"/{bucket}/nothing", "/no-such-bucket/x", "/no-such-bucket"):
        answer = web.call("GET", path, "GETFILESTATUS")
        assert answer.status_code == 404, path
        remote = answer.json()["RemoteException"]
        assert remote["exception"] == "FileNotFoundException"
        assert remote["javaClassName"] == "java.io.FileNotFoundException"


def test_liststatus_lists_files_and_subdirectories_without_markers(
    web: WebHdfs, s3: Any, bucket: str
):
    assert web.boolean("PUT", f"/{bucket}/d", "MKDIRS")
    assert web.boolean("PUT", f"/{bucket}/d/empty", "MKDIRS")
    web.write(f"/{bucket}/d/f.txt", b"abc")
    web.write(f"/{bucket}/d/sub/g.txt")
    assert {"d/", "d/empty/"} <= set(keys(s3, bucket))  # the markers are there...

    assert web.listing(f"/{bucket}/d") == [  # ...but never listed
        ("empty", "DIRECTORY", 0),
        ("f.txt", "FILE", 3),
        ("sub", "DIRECTORY", 0),
    ]
    assert web.listing(f"/{bucket}/d/empty") == []
    assert web.listing(f"/{bucket}") == [("d", "DIRECTORY", 0)]
    assert web.listing(f"/{bucket}/d/f.txt") == [("", "FILE", 3)]  # a file lists itself
    missing = web.call("GET", f"/{bucket}/nothing", "LISTSTATUS")
    assert missing.status_code == 404
    assert remote_exception(missing) == "FileNotFoundException"


def test_liststatus_batch_pages_after_a_name(web: WebHdfs, bucket: str):
    for name in ("a", "b", "c"):
        web.write(f"/{bucket}/d/{name}")
    answer = web.call("GET", f"/{bucket}/d", "LISTSTATUS_BATCH", startAfter="a")
    assert answer.status_code == 200
    listing = answer.json()["DirectoryListing"]
    names = [e["pathSuffix"] for e in listing["partialListing"]["FileStatuses"]["FileStatus"]]
    assert (names, listing["remainingEntries"]) == (["b", "c"], 0)


# ------------------------------------------------------------------------------------ MKDIRS


def test_mkdirs_creates_an_empty_directory_that_then_exists(web: WebHdfs, s3: Any, bucket: str):
    assert web.stat(f"/{bucket}/x/y/z") is None
    assert web.boolean("PUT", f"/{bucket}/x/y/z", "MKDIRS")
    assert keys(s3, bucket) == ["x/y/z/"]
    assert web.kind(f"/{bucket}/x/y/z") == "DIRECTORY"
    assert web.kind(f"/{bucket}/x/y") == "DIRECTORY"
    assert web.listing(f"/{bucket}/x/y/z") == []
    assert web.listing(f"/{bucket}/x") == [("y", "DIRECTORY", 0)]

    assert web.boolean("PUT", f"/{bucket}/x/y/z", "MKDIRS")  # again: true, nothing more
    assert web.boolean("PUT", f"/{bucket}/x/y", "MKDIRS")  # an existing prefix: no marker
    assert keys(s3, bucket) == ["x/y/z/"]


def test_mkdirs_refuses_a_file_or_a_path_below_a_file(web: WebHdfs, s3: Any, bucket: str):
    web.write(f"/{bucket}/f")
    on_file = web.call("PUT", f"/{bucket}/f", "MKDIRS")
    assert on_file.status_code == 403
    assert remote_exception(on_file) == "FileAlreadyExistsException"
    below_file = web.call("PUT", f"/{bucket}/f/g", "MKDIRS")
    assert below_file.status_code == 403
    assert remote_exception(below_file) == "ParentNotDirectoryException"
    assert keys(s3, bucket) == ["f"]


# ------------------------------------------------------------------------------------ RENAME


def test_rename_a_file(web: WebHdfs, s3: Any, bucket: str):
    web.write(f"/{bucket}/in/a.txt", b"content")
    assert web.boolean("PUT", f"/{bucket}/out", "MKDIRS")
    renamed = web.boolean("PUT", f"/{bucket}/in/a.txt", "RENAME", destination=f"/{bucket}/out/b")
    assert renamed
    assert web.stat(f"/{bucket}/in/a.txt") is None
    assert web.read(f"/{bucket}/out/b") == b"content"
    assert web.kind(f"/{bucket}/in") == "DIRECTORY"  # HDFS keeps the emptied parent
    assert web.listing(f"/{bucket}/in") == []


def test_rename_a_file_into_an_existing_directory(web: WebHdfs, bucket: str):
    web.write(f"/{bucket}/a.txt", b"content")
    assert web.boolean("PUT", f"/{bucket}/dir", "MKDIRS")
    assert web.boolean("PUT", f"/{bucket}/a.txt", "RENAME", destination=f"/{bucket}/dir")
    assert web.read(f"/{bucket}/dir/a.txt") == b"content"
    assert web.stat(f"/{bucket}/a.txt") is None


def test_rename_a_directory_moves_everything_below(web: WebHdfs, s3: Any, bucket: str):
    web.write(f"/{bucket}/src/x.txt", b"x")
    web.write(f"/{bucket}/src/sub/y.txt", b"y")
    assert web.boolean("PUT", f"/{bucket}/src/empty", "MKDIRS")
    web.write(f"/{bucket}/src2/z.txt", b"z")  # shares the prefix `src`, not the directory

    assert web.boolean("PUT", f"/{bucket}/src", "RENAME", destination=f"/{bucket}/dst")
    assert keys(s3, bucket) == [
        "dst/empty/",
        "dst/sub/y.txt",
        "dst/x.txt",
        "src2/z.txt",
    ]
    assert web.stat(f"/{bucket}/src") is None
    assert web.read(f"/{bucket}/dst/sub/y.txt") == b"y"
    assert web.listing(f"/{bucket}/dst") == [
        ("empty", "DIRECTORY", 0),
        ("sub", "DIRECTORY", 0),
        ("x.txt", "FILE", 1),
    ]


def test_rename_answers_false_when_it_cannot(web: WebHdfs, s3: Any, bucket: str):
    web.write(f"/{bucket}/a", b"a")
    web.write(f"/{bucket}/b", b"b")
    web.write(f"/{bucket}/d/f", b"f")
    before = keys(s3, bucket)

    def rename(src: str, dst: str) -> bool:
        return web.boolean("PUT", f"/{bucket}/{src}", "RENAME", destination=f"/{bucket}/{dst}")

    assert not rename("missing", "c")  # no source
    assert not rename("a", "b")  # the destination exists
    assert not rename("a", "no/such/parent")  # the destination's parent does not exist
    assert not rename("d", "d/inside")  # a directory into itself
    assert keys(s3, bucket) == before
    assert web.read(f"/{bucket}/a") == b"a"
    assert web.read(f"/{bucket}/b") == b"b"

    relative = web.call("PUT", f"/{bucket}/a", "RENAME", destination="relative/path")
    assert relative.status_code == 400
    assert remote_exception(relative) == "IllegalArgumentException"


def test_rename_with_options_raises_or_overwrites(web: WebHdfs, s3: Any, bucket: str):
    web.write(f"/{bucket}/a", b"a")
    web.write(f"/{bucket}/b", b"b")
    exists = web.call(
        "PUT", f"/{bucket}/a", "RENAME", destination=f"/{bucket}/b", renameoptions="NONE"
    )
    assert exists.status_code == 403
    assert remote_exception(exists) == "FileAlreadyExistsException"
    missing = web.call(
        "PUT", f"/{bucket}/zz", "RENAME", destination=f"/{bucket}/b", renameoptions="NONE"
    )
    assert missing.status_code == 404
    assert remote_exception(missing) == "FileNotFoundException"

    assert web.boolean(
        "PUT", f"/{bucket}/a", "RENAME", destination=f"/{bucket}/b", renameoptions="OVERWRITE"
    )
    assert keys(s3, bucket) == ["b"]
    assert body(s3, bucket, "b") == b"a"


# ------------------------------------------------------------------------------------ DELETE


def test_delete_a_non_empty_directory_needs_recursive(web: WebHdfs, s3: Any, bucket: str):
    web.write(f"/{bucket}/p/d/f1")
    web.write(f"/{bucket}/p/d/sub/f2")

    refused = web.call("DELETE", f"/{bucket}/p/d", "DELETE", recursive="false")
    assert refused.status_code == 403
    assert remote_exception(refused) == "PathIsNotEmptyDirectoryException"
    assert keys(s3, bucket) == ["p/d/f1", "p/d/sub/f2"]

    assert web.boolean("DELETE", f"/{bucket}/p/d", "DELETE", recursive="true")
    assert web.stat(f"/{bucket}/p/d") is None
    assert web.kind(f"/{bucket}/p") == "DIRECTORY"  # the emptied parent still exists
    assert web.listing(f"/{bucket}/p") == []
    assert keys(s3, bucket) == ["p/"]


@pytest.mark.parametrize("child", ["file", "empty sub-directory"])
def test_delete_non_recursive_refuses_a_directory_with_one_child(
    web: WebHdfs, s3: Any, bucket: str, child: str
):
    # Both made through the gateway: CREATE and MKDIRS write no marker for an existing parent,
    # nor for a missing one, so `d` is only a prefix here.
    if child == "file":
        web.write(f"/{bucket}/d/only")
    else:
        assert web.boolean("PUT", f"/{bucket}/d/sub", "MKDIRS")
    before = keys(s3, bucket)
    refused = web.call("DELETE", f"/{bucket}/d", "DELETE", recursive="false")
    assert keys(s3, bucket) == before
    assert refused.status_code == 403
    assert remote_exception(refused) == "PathIsNotEmptyDirectoryException"


def test_delete_files_empty_directories_and_nothing(web: WebHdfs, s3: Any, bucket: str):
    web.write(f"/{bucket}/p/f")
    assert web.boolean("PUT", f"/{bucket}/p/empty", "MKDIRS")

    assert web.boolean("DELETE", f"/{bucket}/p/empty", "DELETE")  # empty: not recursive is fine
    assert web.boolean("DELETE", f"/{bucket}/p/f", "DELETE")
    assert web.kind(f"/{bucket}/p") == "DIRECTORY"
    assert keys(s3, bucket) == ["p/"]

    assert not web.boolean("DELETE", f"/{bucket}/missing", "DELETE", recursive="true")
    assert not web.boolean("DELETE", f"/{bucket}", "DELETE", recursive="true")  # a bucket
    assert s3.head_bucket(Bucket=bucket)


# ------------------------------------------------------------------------ unsupported requests


def test_an_unsupported_operation_is_refused_and_recorded(
    web: WebHdfs, gateway: S3WebHdfsGateway, s3: Any, bucket: str
):
    web.write(f"/{bucket}/f", b"data")
    appended = web.call("POST", f"/{bucket}/f", "APPEND", data=b"more")
    assert appended.status_code == 400
    remote = appended.json()["RemoteException"]
    assert remote["exception"] == "UnsupportedOperationException"
    assert remote["javaClassName"] == "java.lang.UnsupportedOperationException"
    assert "POST APPEND" in gateway.unknown_ops
    assert body(s3, bucket, "f") == b"data"

    wrong_method = web.call("GET", f"/{bucket}/g", "CREATE")  # CREATE is a PUT
    assert remote_exception(wrong_method) == "UnsupportedOperationException"
    assert "GET CREATE" in gateway.unknown_ops
    assert keys(s3, bucket) == ["f"]

    # The connection is still usable after a refused request with a body (keep-alive).
    assert web.read(f"/{bucket}/f") == b"data"


def test_a_path_outside_webhdfs_is_not_found(web: WebHdfs, bucket: str):
    answer = web.http.get(web.base.replace(PREFIX, "/other") + f"/{bucket}?op=LISTSTATUS")
    assert answer.status_code == 404
    assert remote_exception(answer) == "FileNotFoundException"


# ------------------------------------------------------------- spark_conf, spark_defaults_text


def test_spark_conf_mounts_each_bucket_on_the_gateway():
    conf = spark_conf(4321, ["raw", "lake", "raw", "ipeacast.artifacts"])
    assert conf == {
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme",
        "spark.hadoop.hadoop.security.authentication": "simple",
        "spark.hadoop.fs.viewfs.mounttable.ipeacast.artifacts.linkFallback": (
            "webhdfs://127.0.0.1:4321/ipeacast.artifacts"
        ),
        "spark.hadoop.fs.viewfs.mounttable.lake.linkFallback": "webhdfs://127.0.0.1:4321/lake",
        "spark.hadoop.fs.viewfs.mounttable.raw.linkFallback": "webhdfs://127.0.0.1:4321/raw",
    }


@pytest.mark.parametrize(
    "buckets", [["a", "a.b"], ["a.b", "a"], ["x", "a.b.c", "a.b"], ["a", "a.b.c"]]
)
def test_spark_conf_refuses_a_bucket_that_a_mount_table_would_swallow(buckets: list[str]):
    with pytest.raises(ValueError, match="cannot be mounted next to"):
        spark_conf(4321, buckets)


def test_spark_conf_accepts_buckets_that_only_look_alike():
    conf = spark_conf(4321, ["a", "ab", "a-b", "b.a"])
    links = [k.split(".")[5:-1] for k in conf if k.endswith(".linkFallback")]
    assert sorted(".".join(parts) for parts in links) == ["a", "a-b", "ab", "b.a"]


def test_spark_defaults_text_is_a_sorted_escaped_properties_file():
    text = spark_defaults_text(
        {
            "spark.b": "webhdfs://127.0.0.1:1/b",
            "spark.a key=with:specials#!": "a value with spaces = : #",
            "spark.c": "C:\\dir\nsecond line",
        }
    )
    assert text == (
        "spark.a\\ key\\=with\\:specials\\#\\! a value with spaces = : #\n"
        "spark.b webhdfs://127.0.0.1:1/b\n"
        "spark.c C:\\\\dir\\nsecond line\n"
    )
    assert spark_defaults_text({}) == ""


# ----------------------------------------------------------------------- end to end, in Spark

LAKE = "lake"
TABLE = f"s3://{LAKE}/zone/t"
ODD_KEY = "spark.ipeacast.test odd=key:#!"  # read back by Spark: the escaping round-trips
ODD_VALUE = "a b = c:d \\ e"

SPARK_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import boto3
    from ipeacast.etl.spark import get_spark

    table, odd_key = sys.argv[1], sys.argv[2]
    spark = get_spark("test-s3-webhdfs")
    out = {"odd": spark.conf.get(odd_key)}
    schema = "id int, part string, value double"
    first = [(1, "a", 1.5), (2, "a", 2.5), (3, "b", 3.5)]
    spark.createDataFrame(first, schema).write.mode("overwrite").partitionBy("part").parquet(table)
    back = spark.read.parquet(table)
    out["first_count"] = back.count()
    out["first_row"] = back.where("id = 3").first().asDict()
    listed = boto3.client("s3").list_objects_v2(Bucket="lake").get("Contents", [])
    out["first_keys"] = sorted(o["Key"] for o in listed)
    second = [(10, "c", 10.5), (11, "c", 11.5)]
    spark.createDataFrame(second, schema).write.mode("overwrite").partitionBy("part").parquet(table)
    back = spark.read.parquet(table)
    out["second_rows"] = sorted(list(r) for r in back.select("id", "part", "value").collect())
    spark.stop()
    print("RESULT " + json.dumps(out), flush=True)
    """
)


@pytest.fixture(scope="module")
def spark_run(moto_endpoint: str, s3: Any, tmp_path_factory: pytest.TempPathFactory):
    """One local Spark run against a gateway of its own; its result and the gateway."""
    s3.create_bucket(Bucket=LAKE)
    with S3WebHdfsGateway(moto_endpoint, REGION) as gateway:
        conf_dir = tmp_path_factory.mktemp("spark-conf")
        conf = spark_conf(gateway.port, [LAKE]) | {ODD_KEY: ODD_VALUE}
        (conf_dir / "spark-defaults.conf").write_text(spark_defaults_text(conf))
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
        env |= {
            "SPARK_CONF_DIR": str(conf_dir),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")])),
            "AWS_ENDPOINT_URL": moto_endpoint,  # the script's own boto3 calls
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            "SPARK_LOCAL_IP": "127.0.0.1",
            "IPEACAST_DRIVER_MEMORY": "1g",
        }
        done = subprocess.run(
            [sys.executable, "-c", SPARK_SCRIPT, TABLE, ODD_KEY],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert done.returncode == 0, done.stderr[-5000:]
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
        assert lines, done.stdout[-2000:] + done.stderr[-3000:]
        yield json.loads(lines[-1][len("RESULT ") :]), gateway


@pytest.mark.spark
def test_spark_reads_back_what_it_wrote_then_only_the_overwrite(spark_run):
    result, _ = spark_run
    assert result["first_count"] == 3
    assert result["first_row"] == {"id": 3, "value": 3.5, "part": "b"}
    assert result["second_rows"] == [[10, "c", 10.5], [11, "c", 11.5]]


@pytest.mark.spark
def test_spark_output_lands_in_the_bucket_without_temporary_files(spark_run, s3: Any):
    result, _ = spark_run
    first = result["first_keys"]  # seen by the script between the two writes
    assert "zone/t/_SUCCESS" in first
    assert any(k.startswith("zone/t/part=a/part-") and k.endswith(".parquet") for k in first)
    assert any(k.startswith("zone/t/part=b/part-") and k.endswith(".parquet") for k in first)

    final = keys(s3, LAKE)
    assert "zone/t/_SUCCESS" in final
    assert not [k for k in final if "_temporary" in k]
    parts = [k for k in final if k.startswith("zone/t/part=")]
    assert parts, final
    assert all(k.startswith("zone/t/part=c/part-") and k.endswith(".parquet") for k in parts)
    others = set(final) - set(parts) - {"zone/t/_SUCCESS"}
    assert all(k.endswith("/") for k in others), others  # directory markers, nothing else
    for key in parts:
        data = body(s3, LAKE, key)
        assert data[:4] == data[-4:] == b"PAR1"


@pytest.mark.spark
def test_spark_used_only_supported_operations(spark_run):
    _, gateway = spark_run
    assert gateway.unknown_ops == []
    assert {"CREATE", "RENAME", "DELETE", "OPEN", "MKDIRS"} <= set(gateway.ops)


@pytest.mark.spark
def test_spark_reads_escaped_keys_and_values_from_spark_defaults(spark_run):
    result, _ = spark_run
    assert result["odd"] == ODD_VALUE
