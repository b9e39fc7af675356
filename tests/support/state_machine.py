"""Render the one state machine template the way Terraform's `templatefile()` does.

Terraform renders `infra/modules/orchestration/state_machine.asl.json.tftpl` for AWS; the tests
render the same file here (test support: nothing of the shipped package uses it). Only the
template features that file may use are supported: `${name}` interpolation of a plain variable
and the `$${` / `%%{` escapes. Anything
else (`${a.b}`, `%{ if }` directives, an unknown or missing variable) is an error, as it would be
a difference from Terraform.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ipeacast.core.errors import ConfigError

TEMPLATE_VARIABLES = (
    "glue_job_extract",
    "glue_job_transform",
    "glue_job_load",
    "prepare_training_lambda_arn",
    "publish_lambda_arn",
    "failure_topic_arn",
    "lake_bucket",
)

# The states that fix and check the run, from the start to the first step (Extract).
RUN_STATES = (
    "ResolveRun",
    "DefaultRun",
    "MergeRunInput",
    "KeepRunFields",
    "CheckInput",
    "CheckLakePrefix",
)

TEMPLATE_RELATIVE_PATH = Path("infra/modules/orchestration/state_machine.asl.json.tftpl")

# One token at a time, left to right, as HCL's template scanner does: escapes first.
_TOKEN_RE = re.compile(r"\$\$\{|%%\{|\$\{(?P<expr>[^}]*)\}|%\{")
_IDENT_RE = re.compile(r"\s*(?P<name>[A-Za-z_][A-Za-z0-9_-]*)\s*")


def default_template_path() -> Path:
    """The template in the repository these tests belong to."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / TEMPLATE_RELATIVE_PATH
        if candidate.is_file():
            return candidate
    raise ConfigError(f"state machine template {TEMPLATE_RELATIVE_PATH} not found above {here}")


def render_text(template: str, variables: Mapping[str, str]) -> str:
    """Substitute `${name}` with `variables[name]`, as `templatefile()` does for this file."""
    missing = sorted(set(TEMPLATE_VARIABLES) - set(variables))
    if missing:
        raise ConfigError(f"state machine template variables missing: {', '.join(missing)}")
    out: list[str] = []
    pos = 0
    for match in _TOKEN_RE.finditer(template):
        out.append(template[pos : match.start()])
        pos = match.end()
        found = match.group(0)
        if found == "$${":
            out.append("${")
        elif found == "%%{":
            out.append("%{")
        elif found == "%{":
            line = template.count("\n", 0, match.start()) + 1
            raise ConfigError(f"template directive '%{{' on line {line} is not supported")
        else:
            ident = _IDENT_RE.fullmatch(match.group("expr"))
            line = template.count("\n", 0, match.start()) + 1
            if not ident:
                raise ConfigError(
                    f"template expression {found!r} on line {line} is not a plain variable"
                )
            name = ident.group("name")
            if name not in variables:
                raise ConfigError(f"template variable {name!r} on line {line} is not defined")
            value = variables[name]
            if not isinstance(value, str):
                raise ConfigError(f"template variable {name!r} must be a string")
            out.append(value)
    out.append(template[pos:])
    return "".join(out)


def render(variables: Mapping[str, str], template_path: str | Path | None = None) -> str:
    """The rendered definition (a JSON string), checked to be valid JSON."""
    path = Path(template_path) if template_path else default_template_path()
    text = render_text(path.read_text(encoding="utf-8"), variables)
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"rendered state machine {path} is not valid JSON: {exc}") from exc
    return text


def render_definition(
    variables: Mapping[str, str], template_path: str | Path | None = None
) -> dict[str, Any]:
    """The rendered definition as a dict."""
    return json.loads(render(variables, template_path))
