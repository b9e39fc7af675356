"""`docker` and `aws ecr get-login-password` for the deploy rehearsal (no Docker engine here).

`ipeacast deploy` (make image, push-image, ...) builds, saves, loads, tags and pushes the
training image with the docker CLI and logs in with `aws ecr get-login-password`. The rehearsal
puts `tests/support/bin/docker` and `tests/support/bin/aws` first on PATH; both run this module,
so the deploy verbs run unchanged.

An image here is a folder: `config.json` (Cmd, Env, Labels, as `docker image inspect` has them)
and `rootfs/`, built the way our Dockerfile builds the real one:
  stage 1   the wheel, by the Dockerfile's own command (`python -m ipeacast.deploy.packaging
            --without-glue-wheels`) on the build context's `src/`;
  stage 2   the wheel installed (unpacked) into `rootfs/site`, the pins of
            `docker/training-requirements.txt` (hashes not checked: nothing is downloaded)
            checked against this interpreter (which stands in
            for the base image; differences are recorded in a label, not hidden), the COPY of
            `src/ml/train.py` to `/opt/program/train`, `PATH` with /opt/program first, and CMD.
Other Dockerfile instructions are not interpreted (the Dockerfile itself is linted by hadolint).

`push` stores the image folder in the registry store (`<state>/registry/<digest>`) and puts its
manifest to the emulated ECR (`PutImage`, through boto3 and `AWS_ENDPOINT_URL`); the training
runner (`runners.run_training_job`) finds the image by the job's image URI the same way.
State lives in `$REHEARSAL_DOCKER_DIR`.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"


def state_dir() -> Path:
    path = os.environ.get("REHEARSAL_DOCKER_DIR")
    if not path:
        sys.exit("docker (rehearsal shim): REHEARSAL_DOCKER_DIR is not set")
    return Path(path)


def _tags_file() -> Path:
    return state_dir() / "tags.json"


def _tags() -> dict[str, str]:
    f = _tags_file()
    return json.loads(f.read_text()) if f.exists() else {}


def _save_tags(tags: dict[str, str]) -> None:
    _tags_file().parent.mkdir(parents=True, exist_ok=True)
    _tags_file().write_text(json.dumps(tags, indent=1, sort_keys=True))


def _normal(ref: str) -> str:
    return ref if ":" in ref.rsplit("/", 1)[-1] else f"{ref}:latest"


def image_dir(ref: str) -> Path | None:
    image_id = _tags().get(_normal(ref))
    return state_dir() / "images" / image_id if image_id else None


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()


def _dockerfile_cmd(dockerfile: Path) -> list[str]:
    cmds = [line for line in dockerfile.read_text().splitlines() if line.startswith("CMD ")]
    if not cmds:
        return []
    return json.loads(cmds[-1][4:])


def locked_pins(requirements: Path) -> dict[str, str]:
    """{name: version} of a pip requirements file's `name==version` lines (hashes ignored)."""
    pins = {}
    for line in requirements.read_text().replace("\\\n", " ").splitlines():
        words = line.split("#")[0].split()
        if words and not words[0].startswith("-"):
            name, _, version = words[0].partition("==")
            pins[name] = version
    return pins


def pin_mismatches(requirements: Path) -> list[str]:
    out = []
    for name, version in locked_pins(requirements).items():
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            found = "missing"
        if found != version:
            out.append(f"{name}=={version} (runtime has {found})")
    return out


def build(context: Path, tag: str, labels: list[str]) -> str:
    dockerfile = context / "Dockerfile"
    if not dockerfile.is_file():
        sys.exit(f"docker build (rehearsal shim): no Dockerfile in {context}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        wheels = tmp_path / "dist"
        env = dict(os.environ, PYTHONPATH=str(context / "src"))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "ipeacast.deploy.packaging",
                "--without-glue-wheels",
                str(wheels),
            ],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        (wheel,) = sorted(wheels.glob("ipeacast-*.whl"))
        image = tmp_path / "image"
        site = image / "rootfs" / "site"
        with zipfile.ZipFile(wheel) as zf:
            zf.extractall(site)
        program = image / "rootfs" / "opt" / "program"
        program.mkdir(parents=True)
        shutil.copy2(context / "src" / "ml" / "train.py", program / "train")
        (program / "train").chmod(0o755)
        mismatches = pin_mismatches(context / "docker" / "training-requirements.txt")
        label_map = dict(item.split("=", 1) for item in labels)
        label_map["org.ipeacast.rehearsal.pin-mismatches"] = "; ".join(mismatches)
        config = {
            "Cmd": _dockerfile_cmd(dockerfile),
            "Env": ["PATH=/opt/program:/usr/local/bin:/usr/bin:/bin"],
            "Labels": label_map,
            "WorkingDir": "/opt/ml",
        }
        (image / "config.json").write_text(json.dumps(config, indent=1, sort_keys=True))
        image_id = tree_digest(image)
        target = state_dir() / "images" / image_id
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(image, target)
    tags = _tags()
    tags[_normal(tag)] = image_id
    _save_tags(tags)
    print(f"Successfully built {image_id[:12]}\nSuccessfully tagged {_normal(tag)}")
    return image_id


def save(ref: str, output: Path) -> None:
    found = image_dir(ref)
    if found is None:
        sys.exit(f"Error response from daemon: reference does not exist: {ref}")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(output, "w") as tar:
        tar.add(found, arcname=f"image/{found.name}")
        data = json.dumps({"RepoTags": [_normal(ref)], "Id": found.name}).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def load(archive: Path) -> None:
    if not archive.is_file():
        sys.exit(f"open {archive}: no such file or directory")
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        images = state_dir() / "images"
        images.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=images) as tmp:
            tar.extractall(tmp, filter="data")
            target = images / manifest["Id"]
            if not target.exists():
                shutil.move(str(Path(tmp) / "image" / manifest["Id"]), target)
    tags = _tags()
    for tag in manifest["RepoTags"]:
        tags[tag] = manifest["Id"]
        print(f"Loaded image: {tag}")
    _save_tags(tags)


def _ecr():
    import boto3

    return boto3.client("ecr")


def _registry_of(ref: str) -> str:
    return ref.split("/", 1)[0]


def login(registry: str, password: str) -> None:
    token = _ecr().get_authorization_token()["authorizationData"][0]["authorizationToken"]
    expected = base64.b64decode(token).decode().split(":", 1)[1]
    if password.strip() != expected:
        sys.exit(f"Error response from daemon: login to {registry} denied: wrong password")
    logins = state_dir() / "logins.json"
    known = json.loads(logins.read_text()) if logins.exists() else []
    logins.write_text(json.dumps(sorted({*known, registry})))
    print("Login Succeeded")


def push(ref: str) -> None:
    ref = _normal(ref)
    found = image_dir(ref)
    if found is None:
        sys.exit(f"An image does not exist locally with the tag: {ref}")
    registry = _registry_of(ref)
    logins = state_dir() / "logins.json"
    if registry not in (json.loads(logins.read_text()) if logins.exists() else []):
        sys.exit(f"denied: not logged in to {registry} (docker login first)")
    match = re.fullmatch(r"[^/]+/(?P<repo>.+):(?P<tag>[^:]+)", ref)
    if not match:
        sys.exit(f"invalid reference format: {ref}")
    config = (found / "config.json").read_bytes()
    manifest = {
        "schemaVersion": 2,
        "mediaType": MEDIA_TYPE,
        "config": {
            "mediaType": CONFIG_TYPE,
            "size": len(config),
            "digest": f"sha256:{hashlib.sha256(config).hexdigest()}",
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": 0,
                "digest": f"sha256:{found.name}",
            }
        ],
    }
    text = json.dumps(manifest, sort_keys=True)
    pushed = _ecr().put_image(
        repositoryName=match["repo"],
        imageManifest=text,
        imageManifestMediaType=MEDIA_TYPE,
        imageTag=match["tag"],
    )
    digest = pushed["image"]["imageId"]["imageDigest"]  # the registry's digest of the manifest
    store = state_dir() / "registry" / digest.split(":", 1)[1]
    if not store.exists():
        shutil.copytree(found, store)
    print(f"{match['tag']}: digest: {digest} size: {len(text)}")


def docker(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="docker")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("--pull", action="store_true")
    b.add_argument("--tag", "-t", required=True)
    b.add_argument("--label", action="append", default=[])
    b.add_argument("context")
    s = sub.add_parser("save")
    s.add_argument("--output", "-o", required=True)
    s.add_argument("ref")
    ld = sub.add_parser("load")
    ld.add_argument("--input", "-i", required=True)
    im = sub.add_parser("image")
    im.add_argument("action", choices=["inspect"])
    im.add_argument("ref")
    t = sub.add_parser("tag")
    t.add_argument("source")
    t.add_argument("target")
    lg = sub.add_parser("login")
    lg.add_argument("--username", "-u", required=True)
    lg.add_argument("--password-stdin", action="store_true", required=True)
    lg.add_argument("registry")
    ps = sub.add_parser("push")
    ps.add_argument("ref")
    args = p.parse_args(argv)
    if args.command == "build":
        build(Path(args.context), args.tag, args.label)
    elif args.command == "save":
        save(args.ref, Path(args.output))
    elif args.command == "load":
        load(Path(args.input))
    elif args.command == "image":
        found = image_dir(args.ref)
        if found is None:
            print(f"Error: No such image: {args.ref}", file=sys.stderr)
            return 1
        config = json.loads((found / "config.json").read_text())
        print(json.dumps([{"Id": f"sha256:{found.name}", "Config": config}], indent=1))
    elif args.command == "tag":
        found = image_dir(args.source)
        if found is None:
            sys.exit(f"Error response from daemon: No such image: {args.source}")
        tags = _tags()
        tags[_normal(args.target)] = found.name
        _save_tags(tags)
    elif args.command == "login":
        login(args.registry, sys.stdin.read())
    elif args.command == "push":
        push(args.ref)
    return 0


def aws(argv: list[str]) -> int:
    """Only `aws ecr get-login-password [--region R]`: the one AWS CLI call the deploy verbs make
    (`ipeacast deploy push-image`)."""
    p = argparse.ArgumentParser(prog="aws")
    p.add_argument("service", choices=["ecr"])
    p.add_argument("operation", choices=["get-login-password"])
    p.add_argument("--region")
    args = p.parse_args(argv)
    if args.region:
        os.environ["AWS_REGION"] = args.region
    token = _ecr().get_authorization_token()["authorizationData"][0]["authorizationToken"]
    print(base64.b64decode(token).decode().split(":", 1)[1])
    return 0


if __name__ == "__main__":
    tool, *rest = sys.argv[1:]
    sys.exit({"docker": docker, "aws": aws}[tool](rest))
