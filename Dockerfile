# syntax=docker/dockerfile:1
# SageMaker training image for ipeacast: the library wheel with its [ml] extra and nothing else
# (no Spark, no dev tools). SageMaker runs `docker run <image> train`; `train` is
# /opt/program/train (src/ml/train.py, first on PATH), which calls ipeacast.ml.trainer.main
# (SageMaker directory contract under /opt/ml).
#
# Base: python:3.11-slim pinned by the digest of its multi-arch index (as published 2026-08);
# bump the digest deliberately to take base-image security updates.
#
# User: root, on purpose. SageMaker mounts /opt/ml/input, /opt/ml/model and /opt/ml/output into
# the container owned by root, and the trainer must write /opt/ml/model and
# /opt/ml/output/failure; AWS documents the SageMaker container contract as running as root and
# non-root images fail on those mounts (aws/sagemaker-python-sdk#4764,
# aws/sagemaker-inference-toolkit#72). The job runs with EnableNetworkIsolation=true (set by
# ipeacast.aws.training_job), so the container has no network at all.
#checkov:skip=CKV_DOCKER_2:SageMaker training containers run a job to completion and are never health-checked; HEALTHCHECK does not apply.
#checkov:skip=CKV_DOCKER_3:SageMaker mounts /opt/ml as root and the trainer must write to it (see "User" above).
#checkov:skip=CKV_DOCKER_7:The base image is pinned by digest through ARG PYTHON_IMAGE; checkov does not resolve the ARG.
ARG PYTHON_IMAGE=python:3.11-slim@sha256:9c900dea9e8fb7e16277c179b555cc72d29a352dbc33cff48ad5a0412fd5bfc7

# Stage 1: the same deterministic wheel `make package` builds (standard library only; the
# dependency wheels for Glue are left out: the image does not need them).
FROM ${PYTHON_IMAGE} AS wheel
WORKDIR /build
COPY pyproject.toml ./
COPY src/ src/
RUN PYTHONPATH=src python -m ipeacast.deploy.packaging --without-glue-wheels /dist

# Stage 2: the runtime, with pinned dependencies from the wheel's metadata.
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Exactly the locked closure of what training imports (docker/training-requirements.txt, every
# file hash-checked, wheels only), then our wheel without its dependencies, in a second pip
# command (it has no hash in the lock): the image is reproducible and carries no Spark, boto3,
# requests or ipeadatapy.
COPY docker/training-requirements.txt /tmp/wheels/
COPY --from=wheel /dist/ipeacast-0.1.0-py3-none-any.whl /tmp/wheels/
RUN python -m pip install --no-compile --only-binary=:all: --require-hashes --no-deps -r /tmp/wheels/training-requirements.txt \
    && python -m pip install --no-compile --no-deps /tmp/wheels/ipeacast-0.1.0-py3-none-any.whl \
    && rm -rf /tmp/wheels
# SageMaker runs `train`: our thin entry point src/ml/train.py, first on PATH (the SageMaker
# convention /opt/program), ahead of the wheel's console script of the same name.
COPY --chmod=0755 src/ml/train.py /opt/program/train
ENV PATH="/opt/program:${PATH}"
RUN [ "$(command -v train)" = /opt/program/train ] && train --help > /dev/null
WORKDIR /opt/ml
CMD ["train"]
