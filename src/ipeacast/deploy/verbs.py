"""The delivery verbs of one environment, as `make <verb> ENV=...` runs them in the workflows.

    image, save-image, load-image      docker build / save to IMAGE_TAR / load the training image
    push-image ENV                     push it to ENV's ECR repository (skipped if the tag exists:
                                       tags are immutable)
    stage ENV                          push-image + upload-artifacts before apply; skipped only
                                       when ENV was never applied (no Terraform outputs yet)
    ensure-staged ENV                  after apply: push-image + upload-artifacts unless `stage`
                                       already staged this IMAGE_TAG and dist/ for ENV
    image-uri ENV                      ENV's image URI for IMAGE_TAG; fails if it was never pushed
    upload-artifacts ENV               dist/ to ENV's bucket (content-addressed, idempotent)
    smoke ENV, run-pipeline ENV        a smoke execution (waited for) / a pipeline execution

Where things are: ENV's Terraform outputs (`bash scripts/tf.sh outputs ENV`, read at most once
per verb; outputs lake_bucket, ecr_repository_url, state_machine_arn), unless given directly:
LAKE_BUCKET, ECR_REPOSITORY (URL; a name is enough for image-uri), STATE_MACHINE (ARN or name).
Other settings: IMAGE_TAG (default: git HEAD), IMAGE_NAME, IMAGE_TAR, DIST, SERIES,
SMOKE_TIMEOUT (seconds), TF_BUILD_DIR. Paths are relative to the working directory (the
repository root, where make runs).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ipeacast.core.errors import ConfigError
from ipeacast.core.run import DEFAULT_SERIES
from ipeacast.deploy import artifacts, image
from ipeacast.deploy.clients import DeployError

TF_SCRIPT = Path("scripts/tf.sh")
SMOKE_TIMEOUT = 2700.0


# --------------------------------------------------------------------------- pure parts


@dataclass(frozen=True)
class Settings:
    """What the verbs read from the environment, read once (`from_environ`)."""

    image_tag: str
    image_name: str = image.IMAGE_NAME
    image_tar: Path = Path("build/training-image.tar")
    dist: Path = Path("dist")
    series: str = DEFAULT_SERIES
    smoke_timeout: float = SMOKE_TIMEOUT
    tf_build_dir: Path = Path(".tfbuild")
    lake_bucket: str = ""
    ecr_repository: str = ""
    state_machine: str = ""

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str], head: Callable[[], str] = lambda: git_head()
    ) -> Settings:
        """IMAGE_TAG (default: `head()`, the git HEAD), IMAGE_NAME, ..., TF_BUILD_DIR."""
        timeout = environ.get("SMOKE_TIMEOUT") or str(SMOKE_TIMEOUT)
        try:
            smoke_timeout = float(timeout)
        except ValueError:
            raise ConfigError(f"SMOKE_TIMEOUT {timeout!r} is not a number of seconds") from None
        return cls(
            image_tag=image.validate_tag(environ.get("IMAGE_TAG") or head()),
            image_name=environ.get("IMAGE_NAME") or image.IMAGE_NAME,
            image_tar=Path(environ.get("IMAGE_TAR") or "build/training-image.tar"),
            dist=Path(environ.get("DIST") or "dist"),
            series=environ.get("SERIES") or DEFAULT_SERIES,
            smoke_timeout=smoke_timeout,
            tf_build_dir=Path(environ.get("TF_BUILD_DIR") or ".tfbuild"),
            lake_bucket=environ.get("LAKE_BUCKET", ""),
            ecr_repository=environ.get("ECR_REPOSITORY", ""),
            state_machine=environ.get("STATE_MACHINE", ""),
        )

    def staged_marker(self, env: str) -> Path:
        """What `stage` put in place for ENV (image tag + dist/ content)."""
        return self.tf_build_dir / env / "staged"

    def manifest(self, env: str) -> Path:
        return self.tf_build_dir / env / "artifacts.json"


def output_value(outputs: Mapping[str, Any], name: str, env: str) -> str:
    """The value of Terraform output `name` (as `terraform output -json` gives them)."""
    if name not in outputs:
        raise ConfigError(f"Terraform output {name!r} not found in {env!r} (apply it first)")
    return str(outputs[name]["value"])


def fingerprint(image_tag: str, digests: Iterable[tuple[str, str]]) -> str:
    """The staged marker's text: the image tag, then `<sha256> <path>` per dist/ file, sorted."""
    lines = [f"image_tag={image_tag}"]
    lines += [f"{digest} {path}" for path, digest in sorted(digests)]
    return "\n".join(lines) + "\n"


def smoke_run_id(image_tag: str, now: datetime) -> str:
    """`smoke-<first 7 of the tag>-<UTC time>`: which build a smoke run tried, and when."""
    return f"smoke-{image_tag[:7]}-{now.astimezone(UTC):%Y%m%d%H%M%S}"


# --------------------------------------------------------------------------- I/O around them


def git_head() -> str:
    """The commit checked out, or "" outside a git checkout."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True)
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def uncommitted_changes() -> bool:
    done = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True
    )
    return done.returncode == 0 and bool(done.stdout.strip())


def dist_digests(dist: Path) -> list[tuple[str, str]]:
    """(path relative to dist, sha256) of every file under dist (hidden names left out)."""
    if not dist.is_dir():
        return []
    return [
        (path.relative_to(dist).as_posix(), artifacts.sha256_file(path))
        for path in sorted(dist.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    ]


def terraform_outputs(env: str) -> dict[str, Any]:
    """ENV's Terraform outputs through `bash scripts/tf.sh outputs ENV` ({} if never applied)."""
    if not TF_SCRIPT.is_file():
        raise ConfigError(f"{TF_SCRIPT} not found: run the deploy verbs from the repository root")
    done = subprocess.run(["bash", str(TF_SCRIPT), "outputs", env], stdout=subprocess.PIPE)
    if done.returncode != 0:
        raise ConfigError(f"cannot read the Terraform outputs of {env!r}")
    try:
        outputs = json.loads(done.stdout or b"{}")
    except json.JSONDecodeError as exc:
        raise ConfigError(f"the Terraform outputs of {env!r} are not JSON: {exc}") from exc
    return outputs if isinstance(outputs, dict) else {}


@dataclass
class Deployment:
    """One verb's view of one environment: settings, and ENV's outputs read at most once."""

    settings: Settings
    env: str
    say: Callable[[str], None] = print
    read_outputs: Callable[[str], dict[str, Any]] = terraform_outputs
    _outputs: dict[str, Any] | None = field(default=None, repr=False)

    def outputs(self) -> dict[str, Any]:
        if self._outputs is None:
            self._outputs = self.read_outputs(self.env)
        return self._outputs

    def lake_bucket(self) -> str:
        return self.settings.lake_bucket or output_value(self.outputs(), "lake_bucket", self.env)

    def ecr_repository(self) -> str:
        return self.settings.ecr_repository or output_value(
            self.outputs(), "ecr_repository_url", self.env
        )

    def state_machine(self) -> str:
        return self.settings.state_machine or output_value(
            self.outputs(), "state_machine_arn", self.env
        )

    def fingerprint(self) -> str:
        return fingerprint(self.settings.image_tag, dist_digests(self.settings.dist))

    # ------------------------------------------------------------------------- verbs

    def push_image(self) -> None:
        """Push IMAGE_NAME:IMAGE_TAG to ENV's repository, unless the tag is there already."""
        s, repository = self.settings, self.ecr_repository()
        image.registry_of(repository)  # a URL, before anything is pushed
        try:
            uri = image.image_uri(repository, s.image_tag)
        except DeployError:  # the tag is not in the repository yet
            pass
        else:
            self.say(f"already pushed: {uri} (tags are immutable; nothing to do)")
            return
        if not image.local_image_exists(s.image_name, s.image_tag):
            raise DeployError(
                f"local image {s.image_name}:{s.image_tag} not found: run 'make image' (or "
                "load-image) first"
            )
        image.push_image(s.image_name, s.image_tag, repository)
        self.say(image.image_uri(repository, s.image_tag, by_digest=True))

    def upload_artifacts(self) -> None:
        upload(
            self.settings.dist, self.lake_bucket(), self.settings.manifest(self.env), say=self.say
        )

    def stage(self) -> None:
        """Before apply: put the image and artifacts in place, so the jobs never point at code
        not uploaded yet. Only an environment never applied (no outputs yet) is skipped."""
        marker = self.settings.staged_marker(self.env)
        marker.unlink(missing_ok=True)
        given = self.settings.ecr_repository and self.settings.lake_bucket
        if not given and not self.outputs():
            self.say(
                f"stage: {self.env!r} has no Terraform outputs yet (first deployment): nothing "
                "to stage before apply"
            )
            return
        self._stage_now()

    def ensure_staged(self) -> None:
        """After apply: nothing when `stage` staged this image tag and dist/ before apply; the
        real push and upload when it could not (first deployment)."""
        marker = self.settings.staged_marker(self.env)
        if marker.is_file() and marker.read_text() == self.fingerprint():
            self.say(
                f"ensure-staged: image {self.settings.image_tag} and {self.settings.dist}/ were "
                f"staged for {self.env!r} before apply: nothing to do"
            )
            return
        self._stage_now()

    def _stage_now(self) -> None:
        marker = self.settings.staged_marker(self.env)
        self.push_image()
        self.upload_artifacts()
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(self.fingerprint())


def build_image(settings: Settings) -> None:
    """docker build the training image as IMAGE_NAME:IMAGE_TAG from the working directory."""
    # Tags are immutable in ECR: an image tagged with a commit SHA must be built from that commit.
    if settings.image_tag == git_head() and uncommitted_changes():
        raise ConfigError(
            "uncommitted changes: commit them, or build with another IMAGE_TAG "
            "(e.g. IMAGE_TAG=dev-$USER)"
        )
    image.build_image(settings.image_name, settings.image_tag)


def save_image(settings: Settings, say: Callable[[str], None] = print) -> None:
    image.save_image(settings.image_name, settings.image_tag, settings.image_tar)
    say(f"saved {settings.image_name}:{settings.image_tag} to {settings.image_tar}")


def load_image(settings: Settings) -> None:
    image.load_image(settings.image_tar)


def upload(
    dist: str | Path,
    bucket: str,
    manifest: str | Path | None = None,
    *,
    prefix: str = artifacts.ARTIFACT_PREFIX,
    region: str | None = None,
    dry_run: bool = False,
    say: Callable[[str], None] = print,
) -> artifacts.UploadReport:
    """upload_artifacts, its report line by line, and the manifest written when asked."""
    report = artifacts.upload_artifacts(dist, bucket, prefix=prefix, region=region, dry_run=dry_run)
    for line in report.lines():
        say(line)
    if manifest:
        path = Path(manifest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report.manifest(), indent=2, sort_keys=True) + "\n")
        say(f"manifest: {path}")
    return report


def settings_from_environ() -> Settings:
    return Settings.from_environ(os.environ)
