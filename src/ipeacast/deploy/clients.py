"""AWS clients for the deploy steps, and AWS errors turned into one-line project errors.

Clients come from boto3's default chain: region from AWS_REGION/AWS_DEFAULT_REGION or the
profile, endpoint from AWS_ENDPOINT_URL (the tests point it at a local moto server).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, NoReturn

from ipeacast.core.errors import ConfigError, IpeacastError

if TYPE_CHECKING:
    from ipeacast.deploy.executions import ExecutionResult


class DeployError(IpeacastError):
    """The target is not in a state a deployment step can accept (missing image, failed run)."""


class SmokeFailed(DeployError):
    """The smoke execution did not succeed; carries the execution result."""

    def __init__(self, message: str, result: ExecutionResult):
        super().__init__(message)
        self.result = result


def client(service: str, region: str | None = None) -> Any:
    """A boto3 client; a missing region is a configuration error, not a botocore traceback."""
    import boto3
    from botocore.exceptions import NoRegionError

    # botocore reads AWS_DEFAULT_REGION only; AWS_REGION is what CI and most SDKs set.
    region = region or os.environ.get("AWS_REGION") or None
    try:
        return boto3.session.Session(region_name=region).client(service)
    except NoRegionError as exc:
        raise ConfigError(
            f"no AWS region configured for {service}: set AWS_REGION (or pass --region)"
        ) from exc


def client_region(api: Any) -> str:
    return str(api.meta.region_name)


def error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


def _translate(exc: Exception, what: str) -> IpeacastError | None:
    """Turn credential and access errors into one-line configuration errors naming `what`."""
    from botocore.exceptions import (
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    if isinstance(exc, NoCredentialsError | PartialCredentialsError):
        return ConfigError(
            f"no AWS credentials for {what}: configure a profile (AWS_PROFILE), environment "
            "credentials or the GitHub OIDC role"
        )
    if isinstance(exc, EndpointConnectionError):
        return ConfigError(f"cannot reach the AWS endpoint for {what}: {exc}")
    code = error_code(exc)
    if code in ("ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"):
        return ConfigError(f"the AWS credentials used for {what} are invalid or expired ({code})")
    if code in ("AccessDenied", "AccessDeniedException", "403", "Forbidden"):
        return ConfigError(f"access denied to {what}: the current role lacks permission ({code})")
    return None


def reraise(exc: Exception, what: str) -> NoReturn:
    translated = _translate(exc, what)
    if translated is None:
        raise exc
    raise translated from exc
