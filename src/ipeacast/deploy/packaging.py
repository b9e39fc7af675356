"""Build the deployable artifacts, byte-identical on every rebuild of the same code.

`python -m ipeacast.deploy.packaging dist` writes:
- `ipeacast-<version>-py3-none-any.whl`: the library without its deployment tooling
  (`ipeacast.deploy`, this module included): Glue `--additional-python-modules`, the training
  image,
- `glue/extract.py`, `glue/transform.py`, `glue/load.py`: the Glue job scripts,
- `lambda.zip`: `handler.py` at the root plus `ipeacast/__init__.py`, `ipeacast.core` and
  `ipeacast.aws`, standard-library code by construction (import-linter holds those subpackages
  to it; the Lambda runtime provides boto3),
- `glue-wheels/*.whl`: the dependency wheels Glue installs next to ours, pinned by sha256 in
  `requirements/glue-wheels.txt` (downloaded once into `build/glue-wheels/`, PyPI must be
  reachable then; `--without-glue-wheels` skips them, e.g. for the training image),
- `manifest.json`: name, size and sha256 of each artifact.

Every archive has sorted entries, fixed timestamps (`SOURCE_DATE_EPOCH`, default 1980-01-01),
fixed permissions and a fixed compression level, so unchanged code gives unchanged bytes and
Terraform (which hashes the files) sees no change. The wheel is written directly (PEP 427) from
`pyproject.toml` rather than through a build backend: no network, no build directory with stale
files, and nothing in it that depends on the machine.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ipeacast.core.errors import ConfigError

log = logging.getLogger(__name__)

DEFAULT_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can hold
GLUE_SCRIPTS = ("extract.py", "transform.py", "load.py")
GLUE_WHEELS_FILE = Path("requirements/glue-wheels.txt")  # pins + sha256, relative to the root
GLUE_WHEELS_DIR = "glue-wheels"  # under dist/; infra/stack finds them there
WHEEL_CACHE = Path("build/glue-wheels")  # verified downloads, relative to the root
# Glue 5.0 runs CPython 3.11 on x86_64 Amazon Linux 2023: download for that, whatever builds.
_GLUE_PIP_TARGET = ("--python-version", "3.11", "--implementation", "cp")
_GLUE_PIP_TARGET += ("--platform", "manylinux2014_x86_64")
_PIN_RE = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>[A-Za-z0-9.+!_-]+)")
_HASH_RE = re.compile(r"--hash=sha256:(?P<digest>[0-9a-f]{64})")
_EXCLUDED_PARTS = {"__pycache__", ".pytest_cache"}
# What ships where, by the package's first-level names: the wheel leaves out the deployment
# tooling; the Lambda zip holds the package's __init__, the core and what the Lambda runs.
WHEEL_LEAVES_OUT = frozenset({"deploy"})
LAMBDA_HOLDS = frozenset({"__init__.py", "core", "aws"})


def repo_root() -> Path:
    """The checkout this package lives in (src/ipeacast/deploy/ -> repository root)."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "pyproject.toml").is_file():
        raise ConfigError(f"pyproject.toml not found in {root}: packaging runs from a checkout")
    return root


def source_date_epoch() -> int:
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not raw:
        return DEFAULT_EPOCH
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"SOURCE_DATE_EPOCH must be an integer, got {raw!r}") from exc
    return max(value, DEFAULT_EPOCH)


def _zip_time(epoch: int) -> tuple[int, int, int, int, int, int]:
    t = time.gmtime(epoch)
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec - t.tm_sec % 2)


def write_zip(path: Path, entries: dict[str, bytes], epoch: int) -> None:
    """A zip with sorted entries, one timestamp, 0644 files and a fixed compression level."""
    stamp = _zip_time(epoch)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o100644 << 16
            info.create_system = 3  # unix, whatever the build machine
            zf.writestr(info, entries[name], compresslevel=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def _package_data(rel: PurePosixPath, package_data: Mapping[str, Iterable[str]]) -> bool:
    """Whether `rel` (a path inside the package) is declared package data of its subpackage."""
    for package, patterns in package_data.items():
        parts = tuple(package.split(".")[1:])  # "ipeacast.core" -> ("core",)
        if rel.parts[: len(parts)] == parts and len(rel.parts) > len(parts):
            inner = PurePosixPath(*rel.parts[len(parts) :]).as_posix()
            if any(fnmatch.fnmatch(inner, p) for p in patterns):
                return True
    return False


def _package_files(
    package_dir: Path,
    package_data: Mapping[str, Iterable[str]],
    keep: Callable[[str], bool] = lambda first: True,
) -> dict[str, bytes]:
    """The package's .py files and declared package data, keyed by archive path; only those
    whose first-level name (a subpackage, or a top-level file) passes `keep`."""
    files: dict[str, bytes] = {}
    for path in sorted(package_dir.rglob("*")):
        rel = path.relative_to(package_dir)
        if not path.is_file() or _EXCLUDED_PARTS & set(rel.parts) or not keep(rel.parts[0]):
            continue
        posix = PurePosixPath(rel.as_posix())
        if path.suffix == ".py" or _package_data(posix, package_data):
            files[f"{package_dir.name}/{posix}"] = path.read_bytes()
    if f"{package_dir.name}/__init__.py" not in files:
        raise ConfigError(f"{package_dir} is not a Python package (no __init__.py)")
    return files


def _metadata(project: dict) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
    ]
    if project.get("description"):
        lines.append(f"Summary: {project['description']}")
    if project.get("requires-python"):
        lines.append(f"Requires-Python: {project['requires-python']}")
    if isinstance(project.get("license"), dict) and project["license"].get("text"):
        lines.append(f"License: {project['license']['text']}")
    lines += [f"Requires-Dist: {dep}" for dep in project.get("dependencies", [])]
    for extra, deps in sorted(project.get("optional-dependencies", {}).items()):
        lines.append(f"Provides-Extra: {extra}")
        lines += [f'Requires-Dist: {dep}; extra == "{extra}"' for dep in deps]
    return "\n".join(lines) + "\n"


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def _library(
    root: Path, keep: Callable[[str], bool] = lambda first: True
) -> tuple[dict, dict[str, bytes]]:
    """pyproject's [project] table and the package's files (code + package-data) that `keep`."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    package_data = pyproject.get("tool", {}).get("setuptools", {}).get("package-data", {})
    return project, _package_files(root / "src" / project["name"], package_data, keep)


def build_wheel(root: Path, out_dir: Path, epoch: int) -> Path:
    """A pure-python wheel of `src/ipeacast` (without ipeacast.deploy), metadata from pyproject."""
    project, files = _library(root, lambda first: first not in WHEEL_LEAVES_OUT)
    name, version = project["name"], project["version"]
    dist_info = f"{name}-{version}.dist-info"
    files[f"{dist_info}/METADATA"] = _metadata(project).encode()
    files[f"{dist_info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: ipeacast.deploy.packaging\nRoot-Is-Purelib: true\n"
        b"Tag: py3-none-any\n"
    )
    scripts = project.get("scripts", {})
    if scripts:
        entry = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in sorted(scripts.items()))
        files[f"{dist_info}/entry_points.txt"] = entry.encode()
    files[f"{dist_info}/top_level.txt"] = f"{name}\n".encode()
    record = [_record_line(n, files[n]) for n in sorted(files)] + [f"{dist_info}/RECORD,,"]
    files[f"{dist_info}/RECORD"] = ("\n".join(record) + "\n").encode()
    path = out_dir / f"{name}-{version}-py3-none-any.whl"
    write_zip(path, files, epoch)
    return path


def build_lambda_zip(root: Path, out_dir: Path, epoch: int) -> Path:
    handler = root / "src" / "lambda" / "handler.py"
    if not handler.is_file():
        raise ConfigError(f"Lambda handler {handler} not found")
    _, files = _library(root, lambda first: first in LAMBDA_HOLDS)
    files["handler.py"] = handler.read_bytes()
    path = out_dir / "lambda.zip"
    write_zip(path, files, epoch)
    return path


def copy_glue_scripts(root: Path, out_dir: Path, epoch: int) -> list[Path]:
    out: list[Path] = []
    for name in GLUE_SCRIPTS:
        src = root / "src" / "etl" / name
        if not src.is_file():
            raise ConfigError(f"Glue script {src} not found")
        dst = out_dir / "glue" / name
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(src.read_bytes())
        os.utime(dst, (epoch, epoch))
        out.append(dst)
    return out


@dataclass(frozen=True)
class PinnedWheel:
    """One line of requirements/glue-wheels.txt: `name==version` and the sha256 it must have."""

    name: str
    version: str
    sha256: tuple[str, ...]

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    def filename_prefix(self) -> str:
        """How its wheel file names start (PEP 427 escapes the name: runs of -_. become _)."""
        return f"{re.sub(r'[-_.]+', '_', self.name).lower()}-{self.version}-"


def read_pinned_wheels(path: Path) -> list[PinnedWheel]:
    """Parse a pip hash-checking requirements file of `name==version --hash=sha256:...` lines."""
    if not path.is_file():
        raise ConfigError(f"{path} not found: it pins the dependency wheels Glue installs")
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    pins: list[PinnedWheel] = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        requirement, *options = line.split()
        pin = _PIN_RE.fullmatch(requirement)
        hashes = [_HASH_RE.fullmatch(o) for o in options]
        if not pin or not hashes or not all(hashes):
            raise ConfigError(
                f"{path}: {line!r} is not `name==version "
                "--hash=sha256:<64 hex digits>` (every wheel is pinned by version and hash)"
            )
        pins.append(
            PinnedWheel(pin["name"], pin["version"], tuple(h["digest"] for h in hashes if h))
        )
    return pins


def _check_project_pins(pins: list[PinnedWheel], project: dict, source: Path) -> None:
    """Glue must run the versions pyproject.toml pins (the ones the tests run with)."""
    declared: dict[str, str] = {}
    for dep in project.get("dependencies", []):
        name, sep, version = dep.partition("==")
        if sep:
            declared[re.sub(r"[-_.]+", "-", name.strip()).lower()] = version.strip()
    for pin in pins:
        key = re.sub(r"[-_.]+", "-", pin.name).lower()
        if declared.get(key) != pin.version:
            found = f"{pin.name}=={declared[key]}" if key in declared else "no pin"
            raise ConfigError(
                f"{source} pins {pin.requirement} but pyproject.toml has {found}: keep them the "
                "same (update the version and the hash together)"
            )


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cached_wheel(pin: PinnedWheel, cache: Path, source: Path) -> Path | None:
    """The verified wheel of `pin` in the cache; a cached file with another hash is an error."""
    found = None
    for path in sorted(cache.glob("*.whl")):
        if not path.name.lower().startswith(pin.filename_prefix()):
            continue
        digest = _sha256(path)
        if digest not in pin.sha256:
            raise ConfigError(
                f"{path} has sha256 {digest}, but {source} pins {pin.requirement} to sha256 "
                f"{' or '.join(pin.sha256)}: the cached file was altered or the pin is wrong; "
                "delete the file to download it again, or fix the pin"
            )
        found = found or path
    return found


def _download_wheels(pins: list[PinnedWheel], cache: Path) -> None:
    """`pip download` the pinned wheels into the cache; pip checks the hashes too."""
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache, prefix=".download-") as tmp:
        requirements = Path(tmp) / "requirements.txt"
        requirements.write_text(
            "".join(
                f"{p.requirement} {' '.join(f'--hash=sha256:{h}' for h in p.sha256)}\n"
                for p in pins
            )
        )
        command = [
            *(sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"),
            *("--require-hashes", "--disable-pip-version-check", "--retries", "2"),
            *("--timeout", "30", *_GLUE_PIP_TARGET, "--dest", tmp, "-r", str(requirements)),
        ]
        log.info("downloading %s", ", ".join(p.requirement for p in pins))
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        except subprocess.TimeoutExpired as exc:
            raise ConfigError(
                f"downloading {', '.join(p.requirement for p in pins)} took over 600 s"
            ) from exc
        if result.returncode != 0:
            said = "\n".join((result.stderr or result.stdout).strip().splitlines()[-5:])
            raise ConfigError(
                f"cannot download the Glue dependency wheels "
                f"{', '.join(p.requirement for p in pins)} (pip exited {result.returncode}): "
                f"packaging needs PyPI (or the index in PIP_INDEX_URL) once, then reuses "
                f"{cache}; put the pinned wheel files there to build offline. pip said: {said}"
            )
        for path in Path(tmp).glob("*.whl"):
            path.replace(cache / path.name)


def fetch_glue_wheels(root: Path, out_dir: Path, epoch: int) -> list[Path]:
    """Copy the pinned dependency wheels, verified by sha256, into `out_dir/glue-wheels/`."""
    source = root / GLUE_WHEELS_FILE
    pins = read_pinned_wheels(source)
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    _check_project_pins(pins, pyproject["project"], source)
    cache = root / WHEEL_CACHE
    cache.mkdir(parents=True, exist_ok=True)
    missing = [p for p in pins if _cached_wheel(p, cache, source) is None]
    if missing:
        _download_wheels(missing, cache)
    out: list[Path] = []
    for pin in pins:
        wheel = _cached_wheel(pin, cache, source)
        if wheel is None:
            raise ConfigError(
                f"pip downloaded no wheel for {pin.requirement} into {cache} (a wheel file "
                f"named {pin.filename_prefix()}*.whl was expected)"
            )
        dst = out_dir / GLUE_WHEELS_DIR / wheel.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        dst.write_bytes(wheel.read_bytes())
        os.utime(dst, (epoch, epoch))
        out.append(dst)
    return out


def build_all(
    out_dir: str | Path, root: Path | None = None, *, glue_wheels: bool = True
) -> dict[str, dict[str, object]]:
    """Build every artifact into `out_dir` (emptied first); returns the manifest.

    With `glue_wheels=False` the dependency wheels for Glue are left out (the training image
    needs only our wheel, and its build context has no requirements/ or network).
    """
    root = root or repo_root()
    out = Path(out_dir)
    epoch = source_date_epoch()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    paths = [
        build_wheel(root, out, epoch),
        *copy_glue_scripts(root, out, epoch),
        build_lambda_zip(root, out, epoch),
    ]
    if glue_wheels:
        paths += fetch_glue_wheels(root, out, epoch)
    manifest = {
        p.relative_to(out).as_posix(): {
            "sha256": hashlib.sha256(p.read_bytes()).hexdigest(),
            "bytes": p.stat().st_size,
        }
        for p in sorted(paths)
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    for name, entry in manifest.items():
        log.info("built %s %s", name, entry["sha256"][:12])
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ipeacast.deploy.packaging", description=__doc__
    )
    parser.add_argument("out_dir", nargs="?", default="dist", help="output folder (emptied)")
    parser.add_argument(
        "--without-glue-wheels",
        action="store_true",
        help=f"leave out the dependency wheels pinned in {GLUE_WHEELS_FILE} (no download)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        manifest = build_all(args.out_dir, glue_wheels=not args.without_glue_wheels)
    except ConfigError as exc:
        print(f"packaging: error: {exc}", file=sys.stderr)
        return 1
    for name, entry in manifest.items():
        print(f"{entry['sha256']}  {args.out_dir}/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
