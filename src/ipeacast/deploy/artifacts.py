"""Build artifacts: content-addressed keys and their idempotent upload to the lake bucket."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ipeacast.core.errors import ConfigError
from ipeacast.deploy.clients import DeployError, client, client_region, error_code, reraise

log = logging.getLogger(__name__)

ARTIFACT_PREFIX = "artifacts"
_SHA256_RE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Artifact:
    """One build output and its content-addressed key: `<prefix>/<sha256>/<file name>`."""

    name: str
    path: str
    sha256: str
    size: int
    key: str
    status: str = "planned"  # planned | uploaded | unchanged

    @property
    def checksum_b64(self) -> str:
        return base64.b64encode(bytes.fromhex(self.sha256)).decode()


@dataclass(frozen=True)
class UploadReport:
    bucket: str
    prefix: str
    artifacts: tuple[Artifact, ...] = field(default_factory=tuple)

    @property
    def uploaded(self) -> list[Artifact]:
        return [a for a in self.artifacts if a.status == "uploaded"]

    @property
    def unchanged(self) -> list[Artifact]:
        return [a for a in self.artifacts if a.status == "unchanged"]

    def manifest(self) -> dict[str, Any]:
        """name -> key, s3 uri, sha256, size: what Terraform or a human needs to reference them."""
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "artifacts": {
                a.name: {
                    "key": a.key,
                    "uri": f"s3://{self.bucket}/{a.key}",
                    "sha256": a.sha256,
                    "size": a.size,
                }
                for a in self.artifacts
            },
        }

    def lines(self) -> list[str]:
        out = [f"{a.status:<9} s3://{self.bucket}/{a.key}" for a in self.artifacts]
        out.append(
            f"{len(self.uploaded)} uploaded, {len(self.unchanged)} unchanged "
            f"({len(self.artifacts)} artifacts)"
        )
        return out


def sha256_file(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def artifact_key(name: str, sha256: str, prefix: str = ARTIFACT_PREFIX) -> str:
    """Content-addressed key; the file name is kept last so wheels keep a valid wheel name."""
    if not _SHA256_RE.fullmatch(sha256):
        raise ConfigError(f"artifact {name!r}: {sha256!r} is not a sha256 hex digest")
    if "/" in name or not name or name.startswith("."):
        raise ConfigError(f"artifact name {name!r} must be a plain file name")
    return f"{prefix.strip('/')}/{sha256}/{name}" if prefix.strip("/") else f"{sha256}/{name}"


def collect_artifacts(dist: str | Path, prefix: str = ARTIFACT_PREFIX) -> list[Artifact]:
    """Every regular file under `dist` (recursively, hidden files skipped), sorted by name."""
    root = Path(dist)
    if not root.is_dir():
        raise ConfigError(f"artifact directory {str(root)!r} does not exist: run `make package`")
    found: dict[str, Artifact] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if not path.is_file() or any(part.startswith(".") for part in rel.parts):
            continue
        digest = sha256_file(path)
        if path.name in found and found[path.name].sha256 != digest:
            raise ConfigError(
                f"two different artifacts are named {path.name!r} ({found[path.name].path} and "
                f"{path}): file names must be unique in {root}"
            )
        found[path.name] = Artifact(
            name=path.name,
            path=str(path),
            sha256=digest,
            size=path.stat().st_size,
            key=artifact_key(path.name, digest, prefix),
        )
    if not found:
        raise ConfigError(f"artifact directory {str(root)!r} is empty: run `make package`")
    return sorted(found.values(), key=lambda a: a.name)


def caller_account(sts: Any = None, region: str | None = None) -> str:
    """The account id of the credentials in use (STS GetCallerIdentity, no permission needed).

    Every S3 call of a deploy step passes it as `ExpectedBucketOwner`, so a bucket of the same
    name in another account (a typo, a deleted and re-created name) is never read or written.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    sts = sts or client("sts", region)
    try:
        account = str(sts.get_caller_identity()["Account"])
    except (ClientError, BotoCoreError) as exc:
        reraise(exc, "the caller's AWS account (sts:GetCallerIdentity)")
    if not re.fullmatch(r"[0-9]{12}", account):
        raise ConfigError(f"STS returned {account!r}, not a 12-digit AWS account id")
    return account


def check_bucket(s3: Any, bucket: str, owner: str) -> None:
    """Fail clearly if the bucket is missing, elsewhere, not `owner`'s, or unreadable."""
    from botocore.exceptions import BotoCoreError, ClientError

    region = client_region(s3)
    try:
        response = s3.head_bucket(Bucket=bucket, ExpectedBucketOwner=owner)
    except ClientError as exc:
        headers = exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
        actual = headers.get("x-amz-bucket-region")
        code = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            raise ConfigError(
                f"bucket {bucket!r} does not exist (region {region}): check the bucket name, or "
                "apply the environment once to create it (docs/delivery.md)"
            ) from exc
        if code in ("301", "PermanentRedirect") or (actual and actual != region):
            raise ConfigError(
                f"bucket {bucket!r} is in region {actual or 'another region'}, not {region}: "
                f"set AWS_REGION={actual or '<bucket region>'}"
            ) from exc
        # S3 answers 403 both when the role may not read the bucket and when it belongs to
        # another account than ExpectedBucketOwner.
        reraise(exc, f"bucket {bucket!r} (expected owner: account {owner})")
    except BotoCoreError as exc:
        reraise(exc, f"bucket {bucket!r}")
    actual = response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region")
    if actual and actual != region:
        raise ConfigError(f"bucket {bucket!r} is in region {actual}, not {region}: set AWS_REGION")


def _remote_checksum(s3: Any, bucket: str, key: str, owner: str) -> str | None:
    """S3's own SHA-256 checksum (base64) of an existing object; "" if it has none; None if absent.

    The checksum is what S3 computed and verified when the object was written, not metadata a
    writer chose, so it says what the stored bytes are.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        head = s3.head_object(
            Bucket=bucket, Key=key, ChecksumMode="ENABLED", ExpectedBucketOwner=owner
        )
    except ClientError as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        reraise(exc, f"s3://{bucket}/{key}")
    except BotoCoreError as exc:
        reraise(exc, f"s3://{bucket}/{key}")
    return str(head.get("ChecksumSHA256") or "")


def upload_artifacts(
    dist: str | Path,
    bucket: str,
    *,
    prefix: str = ARTIFACT_PREFIX,
    s3: Any = None,
    region: str | None = None,
    dry_run: bool = False,
    owner: str | None = None,
) -> UploadReport:
    """Upload `dist/*` to `s3://bucket/<prefix>/<sha256>/<name>`; existing identical keys are kept.

    Keys are content-addressed, so an object already at its key is never rewritten: when S3's
    SHA-256 checksum of it is the local file's, it is "unchanged" (re-running a deployment uploads
    nothing); any other checksum, or none, means the object is not what its key says, and that is
    an error naming the key, never a silent overwrite. Uploads send the local checksum, so S3
    rejects bytes that arrive altered. Every call names `owner` (default: the caller's account)
    as the expected bucket owner.
    """
    if not bucket or bucket.startswith("s3://") or "/" in bucket:
        raise ConfigError(f"bucket must be a bare bucket name, got {bucket!r}")
    planned = collect_artifacts(dist, prefix)
    s3 = s3 or client("s3", region)
    owner = owner or caller_account(region=region)
    check_bucket(s3, bucket, owner)
    done: list[Artifact] = []
    for art in planned:
        remote = _remote_checksum(s3, bucket, art.key, owner)
        if remote == art.checksum_b64:
            done.append(_with_status(art, "unchanged"))
            continue
        if remote is not None:
            raise DeployError(
                f"s3://{bucket}/{art.key} already exists with SHA-256 checksum "
                f"{remote or '(none)'}, not {art.checksum_b64} of {art.path}: the key is "
                "content-addressed, so the stored object is not what its name says (altered, or "
                "written by something else); it is not overwritten. Inspect it and delete it "
                "if it is wrong, then upload again"
            )
        if not dry_run:
            _put_artifact(s3, bucket, art, owner)
        status = "planned" if dry_run else "uploaded"
        log.info("%s %s -> s3://%s/%s", status, art.path, bucket, art.key)
        done.append(_with_status(art, status))
    return UploadReport(bucket=bucket, prefix=prefix, artifacts=tuple(done))


def _put_artifact(s3: Any, bucket: str, art: Artifact, owner: str) -> None:
    """One PutObject (artifacts are small: no multipart, so the checksum is the whole file's)."""
    from botocore.exceptions import BotoCoreError, ClientError

    body = Path(art.path).read_bytes()
    if hashlib.sha256(body).hexdigest() != art.sha256:
        raise DeployError(f"{art.path} changed while it was being uploaded: package again")
    try:
        response = s3.put_object(
            Bucket=bucket,
            Key=art.key,
            Body=body,
            ChecksumAlgorithm="SHA256",
            ChecksumSHA256=art.checksum_b64,
            ExpectedBucketOwner=owner,
        )
    except (ClientError, BotoCoreError) as exc:
        reraise(exc, f"s3://{bucket}/{art.key}")
    stored = response.get("ChecksumSHA256")
    if stored != art.checksum_b64:
        raise DeployError(
            f"s3://{bucket}/{art.key}: S3 stored SHA-256 checksum {stored or '(none)'}, not "
            f"{art.checksum_b64} of {art.path}"
        )


def _with_status(art: Artifact, status: str) -> Artifact:
    return Artifact(**{**asdict(art), "status": status})
