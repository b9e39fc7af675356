"""A WebHDFS gateway onto S3 (moto), so that local Spark's `s3://bucket/key` paths work offline.

Why: on AWS Glue, Spark reads and writes `s3://` through the filesystem that Glue's runtime ships.
Local pyspark has no S3 filesystem at all (no hadoop-aws jar, and Maven is out of reach), yet the
deploy rehearsal runs our Glue scripts in local Spark against a moto server, and Spark's output
must land in the same emulated bucket that boto3 sees. Hadoop's client jar in pyspark does ship a
WebHDFS client and `ViewFileSystemOverloadScheme`, hence:

    s3://bucket/zone/x  --ViewFileSystemOverloadScheme, mount table "bucket" (linkFallback)-->
    webhdfs://127.0.0.1:<port>/bucket/zone/x  --HTTP, this module-->  boto3  -->  moto

`S3WebHdfsGateway` is a small WebHDFS REST server (stdlib `ThreadingHTTPServer` on 127.0.0.1, an
ephemeral port) that turns each operation into S3 calls with boto3 (`AWS_ENDPOINT_URL`, credentials
and the rest come from the environment, as for any boto3 client). `spark_conf()` gives the Spark
settings that mount each bucket on it, and `spark_defaults_text()` renders them as a
`spark-defaults.conf`: pyspark started from a plain `python` process launches its JVM through
spark-submit, which reads `$SPARK_CONF_DIR/spark-defaults.conf` (verified by the tests).

Layout: `/webhdfs/v1/<bucket>/<key>`. S3 has no directories: a directory exists when some key has
it as a prefix. MKDIRS writes a zero-byte marker `<dir>/` so that empty directories exist, and
DELETE and RENAME write one for the parent they empty (HDFS keeps the parent). Markers never show
in listings. A bucket is a directory that cannot be deleted or renamed here.

Operations (what Spark's Parquet reader and writer and FileOutputCommitter use, through
ViewFileSystem): GETFILESTATUS, LISTSTATUS, LISTSTATUS_BATCH, OPEN (offset/length, served at once
as HttpFS does), CREATE (307 redirect, then the data PUT, plain or chunked; overwrite=false
honoured), MKDIRS, RENAME (file or directory, HDFS `rename` semantics: false when the source is
missing, the destination exists or its parent does not; `renameoptions` for rename2), DELETE
(recursive or not), GETHOMEDIRECTORY, GET_BLOCK_LOCATIONS and GETFILEBLOCKLOCATIONS (no locations:
S3 has no locality). Any other operation (APPEND, GETFILECHECKSUM, SETPERMISSION, ...) answers a
RemoteException UnsupportedOperationException, is logged and listed in `unknown_ops`.

Limits: rename and recursive delete are copy/delete loops, neither atomic nor isolated; a key that
is both an object and a prefix (`a` and `a/b`) shows as the file; owners, permissions, access
times, replication and checksums are made up; an upload is spooled (memory, then a temporary file)
and stored as one object when the client closes it; no security at all (`user.name` is ignored);
for tests on loopback only.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
import zlib
from collections import Counter
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import IO, Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

PREFIX = "/webhdfs/v1"
LIST_LIMIT = 1000  # entries in one LISTSTATUS_BATCH page, as HDFS's dfs.ls.limit
METHODS = {  # the operations served, with their HTTP method
    **dict.fromkeys(["GETFILESTATUS", "LISTSTATUS", "LISTSTATUS_BATCH", "OPEN"], "GET"),
    **dict.fromkeys(["GETHOMEDIRECTORY", "GET_BLOCK_LOCATIONS", "GETFILEBLOCKLOCATIONS"], "GET"),
    **dict.fromkeys(["CREATE", "MKDIRS", "RENAME"], "PUT"),
    "DELETE": "DELETE",
}
MISSING = {"404", "NoSuchKey", "NoSuchBucket", "NotFound"}
JAVA = {  # exception -> (its Java class, HTTP status as HDFS's ExceptionHandler gives them)
    "FileNotFoundException": ("java.io.FileNotFoundException", 404),
    "IOException": ("java.io.IOException", 403),
    "UnsupportedOperationException": ("java.lang.UnsupportedOperationException", 400),
    "IllegalArgumentException": ("java.lang.IllegalArgumentException", 400),
}


class HdfsError(Exception):
    """An answer as a WebHDFS RemoteException; `exception` is a simple Java class name."""

    def __init__(self, exception: str, message: str):
        super().__init__(message)
        self.exception, self.message = exception, message
        java, self.status = JAVA.get(exception, (f"org.apache.hadoop.fs.{exception}", 403))
        remote = {"exception": exception, "javaClassName": java, "message": message}
        self.body = {"RemoteException": remote}


def split(path: str) -> tuple[str, str]:
    """`/bucket/a/b` -> ("bucket", "a/b"); `/bucket` -> ("bucket", "")."""
    bucket, _, key = path.strip("/").partition("/")
    return bucket, key


def parent(path: str) -> str:
    return path.rsplit("/", 1)[0] or "/"


def status(path: str, name: str, kind: str, length: int = 0, mtime: int = 0) -> dict[str, Any]:
    """A WebHDFS FileStatus; `name` is its pathSuffix ("" for the path itself)."""
    is_file = kind == "FILE"
    return {
        "accessTime": mtime if is_file else 0,
        "blockSize": 128 << 20 if is_file else 0,
        "childrenNum": 0 if is_file else -1,  # -1: unknown, counting costs a full listing
        "fileId": 16386 + zlib.crc32(f"{path.rstrip('/')}/{name}".encode()),
        "group": "supergroup",
        "length": length,
        "modificationTime": mtime,
        "owner": "s3",
        "pathSuffix": name,
        "permission": "644" if is_file else "755",
        "replication": 1 if is_file else 0,
        "storagePolicy": 0,
        "type": kind,
    }


def millis(obj: dict[str, Any]) -> int:
    return int(obj["LastModified"].timestamp() * 1000)


class S3Tree:
    """S3 seen as a file system tree: `/bucket/dir/file` paths, HDFS semantics."""

    def __init__(self, s3: Any):
        self.s3 = s3

    def stat(self, path: str) -> dict[str, Any] | None:
        """The FileStatus of `path`, or None when there is nothing."""
        bucket, key = split(path)
        try:
            if not key:
                if bucket:
                    self.s3.head_bucket(Bucket=bucket)
                return status(path, "", "DIRECTORY")
            try:
                head = self.s3.head_object(Bucket=bucket, Key=key)
                return status(path, "", "FILE", head["ContentLength"], millis(head))
            except ClientError as e:
                if e.response["Error"]["Code"] not in MISSING:
                    raise
            found = self.s3.list_objects_v2(Bucket=bucket, Prefix=key + "/", MaxKeys=1)
        except ClientError as e:
            if e.response["Error"]["Code"] in MISSING:
                return None
            raise
        if not found.get("KeyCount"):
            return None
        first = found["Contents"][0]  # the marker, if any, comes first
        mtime = millis(first) if first["Key"] == key + "/" else 0
        return status(path, "", "DIRECTORY", mtime=mtime)

    def children(self, path: str) -> list[dict[str, Any]]:
        bucket, key = split(path)
        if not bucket:
            names = sorted(b["Name"] for b in self.s3.list_buckets()["Buckets"])
            return [status(path, name, "DIRECTORY") for name in names]
        prefix, entries = f"{key}/" if key else "", []
        pages = self.s3.get_paginator("list_objects_v2")
        for page in pages.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            for common in page.get("CommonPrefixes", []):
                if name := common["Prefix"][len(prefix) : -1]:
                    entries.append(status(path, name, "DIRECTORY"))
            for obj in page.get("Contents", []):
                if name := obj["Key"][len(prefix) :]:  # "" is the directory's own marker
                    entries.append(status(path, name, "FILE", obj["Size"], millis(obj)))
        return sorted(entries, key=lambda entry: entry["pathSuffix"])

    def keys(self, path: str, limit: int | None = None) -> list[str]:
        """The keys in the directory `path` (its marker included), all or the first `limit`."""
        bucket, key = split(path)
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, Prefix=f"{key}/" if key else "", PaginationConfig={"MaxItems": limit}
        )
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def check_parents(self, path: str) -> None:
        """HDFS creates nothing below a file."""
        bucket, key = split(path)
        parts = key.split("/")[:-1]
        for ancestor in ("/".join(parts[: n + 1]) for n in range(len(parts))):
            try:
                self.s3.head_object(Bucket=bucket, Key=ancestor)
            except ClientError as e:
                if e.response["Error"]["Code"] in MISSING:
                    continue
                raise
            raise HdfsError("ParentNotDirectoryException", f"/{bucket}/{ancestor} is a file")

    def mkdir(self, path: str) -> None:
        bucket, key = split(path)
        if key and self.stat(path) is None:
            self.s3.put_object(Bucket=bucket, Key=key + "/", Body=b"")

    def remove(self, path: str, kind: str) -> None:
        bucket, key = split(path)
        keys = [key] if kind == "FILE" else self.keys(path)
        for start in range(0, len(keys), 1000):
            batch = [{"Key": k} for k in keys[start : start + 1000]]
            self.s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        self.mkdir(parent(path))  # HDFS keeps the parent directory, even empty

    def rename(self, src: str, dst: str, options: str | None) -> bool:
        """HDFS `rename(src, dst)`; with `options` (rename2: NONE or OVERWRITE) errors raise."""

        def refuse(exception: str, message: str) -> bool:
            if options is not None:
                raise HdfsError(exception, message)
            return False

        source = self.stat(src)
        if source is None:
            return refuse("FileNotFoundException", f"Source {src} does not exist")
        if not split(src)[1] or (dst != src and dst.startswith(src + "/")):
            return refuse("IOException", f"Cannot rename {src} to {dst}")
        target = self.stat(dst)
        if options is None and target is not None and target["type"] == "DIRECTORY":
            dst = f"{dst.rstrip('/')}/{src.rsplit('/', 1)[1]}"  # into the directory
            target = self.stat(dst)
        if dst == src:
            return True
        if target is not None:
            if not (options and "OVERWRITE" in options.upper() and target["type"] == "FILE"):
                return refuse("FileAlreadyExistsException", f"{dst} already exists")
            self.remove(dst, "FILE")
        dst_parent = self.stat(parent(dst))
        if dst_parent is None or dst_parent["type"] != "DIRECTORY":
            return refuse("FileNotFoundException", f"The parent of {dst} is not a directory")
        (src_bucket, src_key), (dst_bucket, dst_key) = split(src), split(dst)
        for key in [src_key] if source["type"] == "FILE" else self.keys(src):
            new_key, copy = dst_key + key[len(src_key) :], {"Bucket": src_bucket, "Key": key}
            self.s3.copy_object(Bucket=dst_bucket, Key=new_key, CopySource=copy)
        self.remove(src, source["type"])
        return True


class S3WebHdfsGateway:
    """A WebHDFS server on 127.0.0.1 backed by S3 (see the module docstring)."""

    def __init__(self, endpoint_url: str, region: str = "us-east-1"):
        self.endpoint_url, self.region = endpoint_url, region
        self.ops: Counter[str] = Counter()  # the operations asked for: {"CREATE": 12, ...}
        self.unknown_ops: list[str] = []  # "METHOD OP" of those refused as unsupported
        self.lock = threading.Lock()
        self.tree: S3Tree | None = None  # the S3 client behind, once started
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the gateway is not started")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3WebHdfsGateway:
        config = Config(region_name=self.region, s3={"addressing_style": "path"})
        self.tree = S3Tree(boto3.client("s3", endpoint_url=self.endpoint_url, config=config))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.gateway = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        log.info("WebHDFS gateway on %s for S3 at %s", self.url, self.endpoint_url)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> S3WebHdfsGateway:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length

    def do_GET(self) -> None:
        self.dispatch()

    do_PUT = do_POST = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        log.debug(format, *args)

    def dispatch(self) -> None:
        method, gateway = self.command, self.server.gateway  # type: ignore[attr-defined]
        url = urlsplit(self.path)
        self.params = {k.lower(): v for k, v in parse_qsl(url.query, keep_blank_values=True)}
        op = self.params.get("op", "").upper()
        path = "/" + "/".join(p for p in unquote(url.path[len(PREFIX) :]).split("/") if p)
        self.gateway: S3WebHdfsGateway = gateway
        self.tree: S3Tree = gateway.tree
        self.body = self.read_body()
        with gateway.lock:
            gateway.ops[op] += 1
        try:
            if not url.path.startswith(PREFIX + "/") and url.path != PREFIX:
                raise HdfsError("FileNotFoundException", f"No WebHDFS resource at {url.path}")
            if METHODS.get(op) != method:
                with gateway.lock:
                    gateway.unknown_ops.append(f"{method} {op}")
                log.warning("unsupported WebHDFS operation %s %s on %s", method, op, path)
                raise HdfsError("UnsupportedOperationException", f"{method} {op} is not supported")
            getattr(self, f"op_{op.lower()}")(path)
        except HdfsError as e:
            self.reply(e.status, e.body)
        except ClientError as e:
            log.exception("S3 failed in %s %s on %s", method, op, path)
            error = HdfsError("IOException", f"S3: {e}")
            self.reply(500, error.body)
        finally:
            self.body.close()

    def read_body(self) -> IO[bytes]:
        """The request body, plain or chunked (as Java's client streams uploads), spooled."""
        spool = tempfile.SpooledTemporaryFile(max_size=16 << 20)  # noqa: SIM115
        if "chunked" not in self.headers.get("Transfer-Encoding", "").lower():
            length = int(self.headers["Content-Length"] or 0)
            shutil.copyfileobj(_Limited(self.rfile, length), spool)
        else:
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                shutil.copyfileobj(_Limited(self.rfile, size), spool)
                self.rfile.readline()  # the CRLF after each chunk
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass  # trailers
        spool.seek(0)
        return spool

    def reply(self, code: int, payload: dict[str, Any] | None = None, **headers: str) -> None:
        data = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def existing(self, path: str) -> dict[str, Any]:
        found = self.tree.stat(path)
        if found is None:
            raise HdfsError("FileNotFoundException", f"File does not exist: {path}")
        return found

    def listing(self, path: str) -> list[dict[str, Any]]:
        found = self.existing(path)
        return [found] if found["type"] == "FILE" else self.tree.children(path)

    # ----------------------------------------------------------------- one method per operation

    def op_getfilestatus(self, path: str) -> None:
        self.reply(200, {"FileStatus": self.existing(path)})

    def op_liststatus(self, path: str) -> None:
        self.reply(200, {"FileStatuses": {"FileStatus": self.listing(path)}})

    def op_liststatus_batch(self, path: str) -> None:
        after = self.params.get("startafter", "")
        entries = [e for e in self.listing(path) if e["pathSuffix"] > after]
        page = {"FileStatuses": {"FileStatus": entries[:LIST_LIMIT]}}
        rest = max(0, len(entries) - LIST_LIMIT)
        self.reply(200, {"DirectoryListing": {"partialListing": page, "remainingEntries": rest}})

    def op_open(self, path: str) -> None:
        found = self.existing(path)
        if found["type"] != "FILE":
            raise HdfsError("FileNotFoundException", f"Path is not a file: {path}")
        size, offset = found["length"], int(self.params.get("offset") or 0)
        if not 0 <= offset <= size:
            raise HdfsError("IOException", f"Offset={offset} out of the range [0, {size}]")
        length = self.params.get("length")
        end = min(size, offset + int(length)) if length else size
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - offset))
        self.end_headers()
        if end > offset:
            bucket, key = split(path)
            obj = self.tree.s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={offset}-{end - 1}")
            try:
                for chunk in obj["Body"].iter_chunks(64 << 10):
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the reader seeked elsewhere and hung up

    def op_create(self, path: str) -> None:
        found = self.tree.stat(path)
        if found is not None and found["type"] == "DIRECTORY":
            raise HdfsError("FileAlreadyExistsException", f"{path} already exists as a directory")
        if found is not None and self.params.get("overwrite", "false").lower() != "true":
            raise HdfsError("FileAlreadyExistsException", f"{path} already exists")
        if "datanode" not in self.params:  # the "namenode" step sends the data elsewhere
            self.tree.check_parents(path)
            query = urlsplit(self.path).query + "&datanode=true"
            self.reply(307, None, Location=f"{self.gateway.url}{PREFIX}{quote(path)}?{query}")
            return
        bucket, key = split(path)
        self.tree.s3.upload_fileobj(self.body, bucket, key)
        self.reply(201, None, Location=f"webhdfs://127.0.0.1{quote(path)}")

    def op_mkdirs(self, path: str) -> None:
        found = self.tree.stat(path)
        if found is not None and found["type"] == "FILE":
            raise HdfsError("FileAlreadyExistsException", f"Path is not a directory: {path}")
        self.tree.check_parents(path)
        self.tree.mkdir(path)
        self.reply(200, {"boolean": True})

    def op_rename(self, path: str) -> None:
        destination = self.params.get("destination", "")
        if not destination.startswith("/"):
            raise HdfsError("IllegalArgumentException", f"Invalid destination {destination!r}")
        destination = "/" + "/".join(p for p in destination.split("/") if p)
        done = self.tree.rename(path, destination, self.params.get("renameoptions"))
        self.reply(200, {"boolean": done})

    def op_delete(self, path: str) -> None:
        found = self.tree.stat(path)
        if found is None or not split(path)[1]:  # missing, or a bucket (never deleted here)
            self.reply(200, {"boolean": False})
            return
        recursive = self.params.get("recursive", "false").lower() == "true"
        marker = split(path)[1] + "/"
        children = [k for k in self.tree.keys(path, 2) if k != marker]  # the marker is not one
        if found["type"] == "DIRECTORY" and not recursive and children:
            raise HdfsError("PathIsNotEmptyDirectoryException", f"{path} is non empty")
        self.tree.remove(path, found["type"])
        self.reply(200, {"boolean": True})

    def op_gethomedirectory(self, path: str) -> None:
        self.reply(200, {"Path": f"/user/{self.params.get('user.name', 'webhdfs')}"})

    def op_get_block_locations(self, path: str) -> None:
        blocks = {"fileLength": self.existing(path)["length"], "isUnderConstruction": False}
        blocks |= {"locatedBlocks": [], "lastLocatedBlock": None, "isLastBlockComplete": True}
        self.reply(200, {"LocatedBlocks": blocks})

    def op_getfileblocklocations(self, path: str) -> None:
        self.existing(path)
        self.reply(200, {"BlockLocations": {"BlockLocation": []}})


class _Limited:
    """Reads at most `size` bytes of a stream: one request body, or one chunk of it."""

    def __init__(self, stream: IO[bytes], size: int):
        self.stream, self.left = stream, size

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        data = self.stream.read(n) if n else b""
        if n and not data:
            raise ConnectionError("the client hung up in the middle of a request body")
        self.left -= len(data)
        return data


def spark_conf(gateway_port: int, buckets: Iterable[str]) -> dict[str, str]:
    """The Spark settings that send `s3://<bucket>/...` to the gateway, for each bucket.

    `s3://` is Hadoop's `ViewFileSystemOverloadScheme`; the mount table of a bucket (named after
    the URI's authority) has only a `linkFallback` to `webhdfs://127.0.0.1:<port>/<bucket>`:
    every path falls through to it. (`linkMergeSlash` would do the same, but Hadoop 3.3.4's
    ViewFileSystem qualifies listed children wrongly with it.) A bucket left out fails with
    "No overload scheme fs configured". Authentication stays "simple": no Kerberos, no tokens.
    """
    buckets = sorted(set(buckets))
    for a in buckets:
        for b in buckets:
            if b.startswith(a + "."):  # the keys of mount table `a` would swallow `b`'s
                raise ValueError(f"bucket {b!r} cannot be mounted next to {a!r}")
    conf = {
        "spark.hadoop.fs.s3.impl": "org.apache.hadoop.fs.viewfs.ViewFileSystemOverloadScheme",
        "spark.hadoop.hadoop.security.authentication": "simple",
    }
    for bucket in buckets:
        link = f"spark.hadoop.fs.viewfs.mounttable.{bucket}.linkFallback"
        conf[link] = f"webhdfs://127.0.0.1:{gateway_port}/{bucket}"
    return conf


def spark_defaults_text(conf: dict[str, str]) -> str:
    """`conf` as the text of a spark-defaults.conf (a Java properties file of `key value`)."""

    def escape(text: str, specials: str) -> str:
        text = text.replace("\\", "\\\\").replace("\n", "\\n")
        return "".join("\\" + c if c in specials else c for c in text)

    return "".join(f"{escape(k, ' =:#!')} {escape(v, '')}\n" for k, v in sorted(conf.items()))
