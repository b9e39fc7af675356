"""The training image: build, save, load and push it with the docker CLI; its ECR URI by tag.

docker and `aws ecr get-login-password` run as subprocesses (as on a laptop); the tests put
shims of both on PATH (tests/support/bin).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from ipeacast.core.errors import ConfigError
from ipeacast.deploy.clients import DeployError, client, client_region, error_code, reraise

IMAGE_NAME = "ipeacast-training"
_TAG_RE = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_REPOSITORY_URL_RE = re.compile(
    r"(?P<registry>[^/]+\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com)/.+"
)


def validate_tag(tag: str) -> str:
    """`tag` if it is a valid image tag (what ECR and `docker tag` accept), else ConfigError."""
    if not _TAG_RE.fullmatch(tag):
        raise ConfigError(f"IMAGE_TAG {tag!r} is not a valid image tag")
    return tag


def registry_of(repository_url: str) -> tuple[str, str]:
    """The registry host and region of an ECR repository URL (`<acct>.dkr.ecr.<region>...`)."""
    match = _REPOSITORY_URL_RE.fullmatch(repository_url)
    if not match:
        raise ConfigError(f"ECR repository {repository_url!r} must be a repository URL")
    return match["registry"], match["region"]


def docker(*args: str, stdin: str | None = None, quiet: bool = False) -> None:
    """Run `docker ARGS`; its output goes to ours (none with `quiet`); a failure is DeployError."""
    if shutil.which("docker") is None:
        raise ConfigError("docker not found on PATH")
    out = subprocess.DEVNULL if quiet else None
    done = subprocess.run(["docker", *args], input=stdin, text=True, stdout=out, stderr=out)
    if done.returncode != 0:
        raise DeployError(f"docker {args[0]} failed (exit {done.returncode})")


def build_image(name: str, tag: str, context: str | Path = ".") -> None:
    docker(
        "build", "--pull", "--tag", f"{name}:{tag}",
        "--label", f"org.opencontainers.image.revision={tag}", str(context),
    )  # fmt: skip


def save_image(name: str, tag: str, archive: Path) -> None:
    archive.parent.mkdir(parents=True, exist_ok=True)
    docker("save", "--output", str(archive), f"{name}:{tag}")


def load_image(archive: Path) -> None:
    if not archive.is_file():
        raise ConfigError(f"no image archive at {archive}: run 'make image save-image' first")
    docker("load", "--input", str(archive))


def local_image_exists(name: str, tag: str) -> bool:
    try:
        docker("image", "inspect", f"{name}:{tag}", quiet=True)
    except DeployError:
        return False
    return True


def login(registry: str, region: str) -> None:
    """`aws ecr get-login-password | docker login REGISTRY`; the password never reaches a log."""
    if shutil.which("aws") is None:
        raise ConfigError("the AWS CLI (aws) is not on PATH: it logs docker in to ECR")
    password = subprocess.run(
        ["aws", "ecr", "get-login-password", "--region", region],
        capture_output=True,
        text=True,
    )
    if password.returncode != 0:
        detail = (password.stderr.strip().splitlines() or ["no output"])[-1]
        raise DeployError(f"aws ecr get-login-password failed for {registry}: {detail}")
    docker("login", "--username", "AWS", "--password-stdin", registry, stdin=password.stdout)


def push_image(name: str, tag: str, repository_url: str) -> None:
    """Tag the local image NAME:TAG as REPOSITORY:TAG and push it (after a login)."""
    registry, region = registry_of(repository_url)
    login(registry, region)
    docker("tag", f"{name}:{tag}", f"{repository_url}:{tag}")
    docker("push", f"{repository_url}:{tag}")


def _repository_name(repository: str, region: str) -> str:
    """Accept a repository name or URI (`<acct>.dkr.ecr.<region>.amazonaws.com/<name>`)."""
    if "/" in repository and ".dkr.ecr." in repository.split("/", 1)[0]:
        host, name = repository.split("/", 1)
        repo_region = host.split(".dkr.ecr.", 1)[1].split(".", 1)[0]
        if repo_region != region:
            raise ConfigError(
                f"ECR repository {repository!r} is in region {repo_region}, not {region}: "
                "set AWS_REGION"
            )
        return name
    return repository


def image_uri(
    repository: str,
    tag: str,
    *,
    ecr: Any = None,
    region: str | None = None,
    by_digest: bool = False,
) -> str:
    """`<registry>/<repo>:<tag>` (or `@sha256:...`) for a tag that exists; a missing tag fails."""
    from botocore.exceptions import BotoCoreError, ClientError

    if not tag:
        raise ConfigError("image tag is empty: pass --tag (the commit SHA of the build)")
    ecr = ecr or client("ecr", region)
    name = _repository_name(repository, client_region(ecr))
    try:
        repo = ecr.describe_repositories(repositoryNames=[name])["repositories"][0]
        images = ecr.describe_images(repositoryName=name, imageIds=[{"imageTag": tag}])
    except ClientError as exc:
        code = error_code(exc)
        if code == "RepositoryNotFoundException":
            raise ConfigError(
                f"ECR repository {name!r} does not exist in region {client_region(ecr)}"
            ) from exc
        if code == "ImageNotFoundException":
            raise DeployError(
                f"image tag {tag!r} not found in ECR repository {name!r}: build and push it first "
                "(make push-image) or pick a tag that exists"
            ) from exc
        reraise(exc, f"ECR repository {name!r}")
    except BotoCoreError as exc:
        reraise(exc, f"ECR repository {name!r}")
    details = images.get("imageDetails") or []
    if not details:
        raise DeployError(f"image tag {tag!r} not found in ECR repository {name!r}")
    if by_digest:
        return f"{repo['repositoryUri']}@{details[0]['imageDigest']}"
    return f"{repo['repositoryUri']}:{tag}"
