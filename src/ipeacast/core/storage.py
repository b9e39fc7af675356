"""Read and write the data lake by URI: a plain path or file:// locally, s3:// on AWS.

The library never touches files any other way, so the same code runs on a laptop and in Glue,
Lambda or SageMaker. Publishing replaces a whole partition (a folder / prefix) in one step.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from ipeacast.core.errors import StorageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Location:
    scheme: str  # "file" or "s3"
    bucket: str  # "" for file
    key: str  # absolute path for file; key (no leading slash) for s3

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}" if self.scheme == "s3" else self.key


def parse(uri: str | os.PathLike) -> Location:
    """Split a URI into scheme, bucket and key; plain paths are local files."""
    text = os.fspath(uri)
    parsed = urlparse(text)
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise StorageError(f"S3 URI {text!r} has no bucket")
        return Location("s3", parsed.netloc, parsed.path.lstrip("/"))
    if parsed.scheme == "file":
        return Location("file", "", str(Path(parsed.path).resolve()))
    if len(parsed.scheme) <= 1:  # no scheme, or a Windows drive letter (C:\...)
        return Location("file", "", str(Path(text).resolve()))
    raise StorageError(f"unsupported storage URI {text!r}: use a path, file:// or s3://")


def spark_path(uri: str) -> str:
    """The path Spark should use for a URI (s3:// stays as is; Glue reads it natively)."""
    loc = parse(uri)
    return loc.uri


def _s3():
    import boto3

    return boto3.client("s3")


BUCKET_OWNER_ENV = "IPEACAST_BUCKET_OWNER"


def owner_args(copy: bool = False) -> dict[str, str]:
    """`ExpectedBucketOwner` (and for a copy its source's) when IPEACAST_BUCKET_OWNER names the
    account that owns the lake (Terraform sets it for the Lambda): a bucket of the same name in
    another account is then never read or written."""
    owner = os.environ.get(BUCKET_OWNER_ENV, "").strip()
    if not owner:
        return {}
    if not owner.isdigit() or len(owner) != 12:
        raise StorageError(f"{BUCKET_OWNER_ENV}={owner!r} is not a 12-digit AWS account id")
    return {"ExpectedBucketOwner": owner} | ({"ExpectedSourceBucketOwner": owner} if copy else {})


@contextlib.contextmanager
def _local_errors(uri: str, doing: str) -> Iterator[None]:
    """Turn an OSError of a local file operation into a StorageError naming the path and cause."""
    try:
        yield
    except FileNotFoundError as exc:
        raise StorageError(f"{uri} does not exist") from exc
    except IsADirectoryError as exc:
        raise StorageError(f"{uri} is a folder, not a file") from exc
    except OSError as exc:
        raise StorageError(f"cannot {doing} {uri}: {exc.strerror or exc}") from exc


def read_bytes(uri: str) -> bytes:
    loc = parse(uri)
    if loc.scheme == "s3":
        try:
            return _s3().get_object(Bucket=loc.bucket, Key=loc.key, **owner_args())["Body"].read()
        except Exception as exc:
            if _is_s3_missing(exc):
                raise StorageError(f"{uri} does not exist") from exc
            raise
    with _local_errors(uri, "read"):
        return Path(loc.key).read_bytes()


def write_bytes(uri: str, data: bytes) -> None:
    """Write an object; local writes go through a temporary file and a rename."""
    loc = parse(uri)
    if loc.scheme == "s3":
        _s3().put_object(Bucket=loc.bucket, Key=loc.key, Body=data, **owner_args())
        return
    path = Path(loc.key)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with _local_errors(uri, "write"):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            tmp.write_bytes(data)
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()


def exists(uri: str) -> bool:
    loc = parse(uri)
    if loc.scheme == "s3":
        try:
            _s3().head_object(Bucket=loc.bucket, Key=loc.key, **owner_args())
            return True
        except Exception as exc:
            if _is_s3_missing(exc):
                return False
            raise
    with _local_errors(uri, "check"):
        return Path(loc.key).exists()


def list_files(prefix: str) -> list[str]:
    """Every object (file) below a prefix (folder), as URIs, sorted."""
    loc = parse(prefix)
    if loc.scheme == "s3":
        key = loc.key.rstrip("/") + "/"
        out: list[str] = []
        for page in (
            _s3()
            .get_paginator("list_objects_v2")
            .paginate(Bucket=loc.bucket, Prefix=key, **owner_args())
        ):
            out.extend(f"s3://{loc.bucket}/{o['Key']}" for o in page.get("Contents", []))
        return sorted(out)
    root = Path(loc.key)
    with _local_errors(prefix, "list"):
        if not root.is_dir():
            return []
        return sorted(str(p) for p in root.rglob("*") if p.is_file())


def delete_prefix(prefix: str) -> None:
    loc = parse(prefix)
    if loc.scheme == "s3":
        client = _s3()
        keys = [parse(u).key for u in list_files(prefix)]
        for i in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[i : i + 1000]]
            client.delete_objects(
                Bucket=loc.bucket, Delete={"Objects": chunk, "Quiet": True}, **owner_args()
            )
        return
    shutil.rmtree(loc.key, ignore_errors=True)


def stable_names(prefix: str) -> list[str]:
    """Rename the data files below a staged folder to part-00000<ext>, part-00001<ext>, ...

    Spark names part files with a random id, so replacing a published partition would copy new
    names next to old ones. With stable names the copy overwrites each object in place (atomic per
    object on S3), and a partition written as one file is replaced in one step. Checksum (.crc)
    and marker files (_SUCCESS) are dropped. Returns the new URIs.
    """
    files = list_files(prefix)
    data = [u for u in files if not os.path.basename(parse(u).key).startswith((".", "_"))]
    out = []
    for index, uri in enumerate(sorted(data)):
        name = os.path.basename(parse(uri).key)
        suffix = "".join(Path(name).suffixes[-2:]) if name.endswith(".parquet") else ""
        target = f"{os.path.dirname(uri.rstrip('/'))}/part-{index:05d}{suffix}"
        if target != uri:
            _move(uri, target)
        out.append(target)
    for uri in files:
        if uri not in data:
            _delete(uri)
    return out


def _move(src: str, dst: str) -> None:
    s, d = parse(src), parse(dst)
    if s.scheme == "s3":
        source = {"Bucket": s.bucket, "Key": s.key}
        _s3().copy_object(Bucket=d.bucket, Key=d.key, CopySource=source, **owner_args(copy=True))
        _s3().delete_object(Bucket=s.bucket, Key=s.key, **owner_args())
    else:
        os.replace(s.key, d.key)


def _delete(uri: str) -> None:
    loc = parse(uri)
    if loc.scheme == "s3":
        _s3().delete_object(Bucket=loc.bucket, Key=loc.key, **owner_args())
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(loc.key)


def remove_empty_folder(uri: str, up_to: str | None = None) -> None:
    """Remove a local folder if it is empty (or already gone), then its empty parents up to
    `up_to` (included); S3 has no folders: nothing to do."""
    loc = parse(uri)
    if loc.scheme != "file":
        return
    folder = Path(loc.key)
    stop = Path(parse(up_to).key) if up_to else folder
    while True:
        try:
            folder.rmdir()
        except FileNotFoundError:
            pass
        except OSError:  # not empty (or not ours to remove): the parents are not empty either
            return
        if folder == stop or stop not in folder.parents:
            return
        folder = folder.parent


def clear_staging(scope: str, keep: str | None = None) -> list[str]:
    """Delete the staged writes under `scope` except `keep`: what earlier writes of the same
    partition left when they crashed. Returns the URIs deleted."""
    keep_prefix = parse(keep).uri.rstrip("/") + "/" if keep else None
    stale = [u for u in list_files(scope) if not (keep_prefix and u.startswith(keep_prefix))]
    loc = parse(scope)
    if loc.scheme == "s3":
        for i in range(0, len(stale), 1000):
            chunk = [{"Key": parse(u).key} for u in stale[i : i + 1000]]
            _s3().delete_objects(
                Bucket=loc.bucket, Delete={"Objects": chunk, "Quiet": True}, **owner_args()
            )
    else:
        root = Path(loc.key)
        kept = Path(parse(keep).key) if keep else None
        if root.is_dir():
            for child in root.iterdir():
                if child == kept:
                    continue
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
    if stale:
        log.info("removed %d staged file(s) an earlier write left under %s", len(stale), scope)
    return stale


def last_modified(uri: str) -> float:
    """When an object (file) was last written, as a POSIX timestamp."""
    loc = parse(uri)
    if loc.scheme == "s3":
        head = _s3().head_object(Bucket=loc.bucket, Key=loc.key, **owner_args())
        return head["LastModified"].timestamp()
    with _local_errors(uri, "stat"):
        return Path(loc.key).stat().st_mtime


def replace_prefix(staged: str, target: str) -> None:
    """Publish a staged folder/prefix as `target`, replacing what was there.

    Locally, where the kernel can (Linux renameat2 RENAME_EXCHANGE), the staged folder and the
    target swap places in one step: a reader, or a crash, sees the previous partition or the new
    one, never none. Elsewhere it is two renames (old -> trash, staged -> target); a crash
    between them leaves the old data in a sibling `.trash-*` folder rather than losing it. Either
    way the previous version stays in a hidden `.trash-<name>-*` sibling until the next
    replacement of that partition (a reader that opened it finishes reading it), which deletes
    every older one. On S3 the staged objects are copied over the
    target keys first, and only then are stale keys removed, so readers never see an empty
    partition.
    """
    s, t = parse(staged), parse(target)
    if s.scheme != t.scheme or s.bucket != t.bucket:
        raise StorageError(f"cannot publish {staged} to {target}: different stores")
    if s.scheme == "s3":
        _replace_s3_prefix(s, t)
        return
    src, dst = Path(s.key), Path(t.key)
    if not src.is_dir():
        raise StorageError(f"staged data {src} does not exist")
    dst.parent.mkdir(parents=True, exist_ok=True)
    if dst.exists() and _exchange(src, dst):
        trash = dst.with_name(f".trash-{dst.name}-{uuid.uuid4().hex}")
        os.replace(src, trash)  # the previous partition, swapped out, kept for its readers
        _remove_older_trash(dst, keep=trash)
        return
    trash = None
    if dst.exists():
        trash = dst.with_name(f".trash-{dst.name}-{uuid.uuid4().hex}")
        os.replace(dst, trash)
    try:
        os.replace(src, dst)
    except OSError:
        if trash is not None:
            os.replace(trash, dst)
        raise
    _remove_older_trash(dst, keep=trash)


def _remove_older_trash(dst: Path, keep: Path | None) -> None:
    """Delete the earlier replaced versions of `dst` (a crashed run's too), keeping `keep`."""
    for old in dst.parent.glob(f".trash-{dst.name}-*"):
        if old != keep:
            shutil.rmtree(old, ignore_errors=True)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths atomically; False where the platform or filesystem cannot."""
    renameat2 = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if renameat2 is None:
        return False
    flags = _RENAME_EXCHANGE
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), flags) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
        return False
    raise StorageError(f"cannot swap {a} and {b}: {os.strerror(err)}")


def _replace_s3_prefix(s: Location, t: Location) -> None:
    client = _s3()
    src_prefix = s.key.rstrip("/") + "/"
    dst_prefix = t.key.rstrip("/") + "/"
    staged = [parse(u).key for u in list_files(s.uri)]
    if not staged:
        raise StorageError(f"staged data {s.uri} is empty")
    new_keys = set()
    for key in staged:
        new_key = dst_prefix + key[len(src_prefix) :]
        source = {"Bucket": s.bucket, "Key": key}
        client.copy_object(Bucket=t.bucket, Key=new_key, CopySource=source, **owner_args(copy=True))
        new_keys.add(new_key)
    stale = [parse(u).key for u in list_files(t.uri) if parse(u).key not in new_keys]
    for i in range(0, len(stale), 1000):
        chunk = [{"Key": k} for k in stale[i : i + 1000]]
        client.delete_objects(
            Bucket=t.bucket, Delete={"Objects": chunk, "Quiet": True}, **owner_args()
        )
    delete_prefix(s.uri)


def _is_s3_missing(exc: Exception) -> bool:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return False
    code = str(response.get("Error", {}).get("Code", ""))
    return code in {"404", "NoSuchKey", "NotFound"}
