#!/usr/bin/env bash
# Deployment verbs for one environment (laptop and CI alike); AWS calls go through `ipeacast deploy`.
#
#   scripts/deploy.sh image                  docker build the training image as ipeacast-training:TAG
#   scripts/deploy.sh save-image             docker save it to IMAGE_TAR (CI hands it to later jobs)
#   scripts/deploy.sh load-image             docker load IMAGE_TAR
#   scripts/deploy.sh push-image ENV         push it to ENV's ECR repository (skipped if the tag exists:
#                                            tags are immutable)
#   scripts/deploy.sh stage ENV              push-image + upload-artifacts before apply; skipped only
#                                            when ENV was never applied (no Terraform outputs yet)
#   scripts/deploy.sh ensure-staged ENV      after apply: push-image + upload-artifacts unless `stage`
#                                            already staged this IMAGE_TAG and dist/ for ENV (so it
#                                            only works on a first deployment)
#   scripts/deploy.sh image-uri ENV          print ENV's image URI for IMAGE_TAG; fails if not pushed
#   scripts/deploy.sh upload-artifacts ENV   upload dist/ to ENV's bucket (content-addressed, idempotent)
#   scripts/deploy.sh smoke ENV              start a short execution of ENV's state machine and wait
#   scripts/deploy.sh run-pipeline ENV       start a normal pipeline execution (SERIES)
#
# Where things are: Terraform outputs of ENV (`scripts/tf.sh outputs`, read at most once per
# run; stage/ensure-staged hand the values to push-image and upload-artifacts), unless given
# directly: LAKE_BUCKET, ECR_REPOSITORY (name or URL), STATE_MACHINE (ARN or name).
# Outputs used: lake_bucket, ecr_repository_url, state_machine_arn.
# Other settings: IMAGE_TAG (default: git HEAD), IMAGE_TAR, SERIES, SMOKE_TIMEOUT (seconds), DIST.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "deploy.sh: error: $*" >&2; exit 1; }

IPEACAST=${IPEACAST:-.venv/bin/ipeacast}
IMAGE_NAME=${IMAGE_NAME:-ipeacast-training}
IMAGE_TAG=${IMAGE_TAG:-$(git rev-parse HEAD 2>/dev/null || true)}
IMAGE_TAR=${IMAGE_TAR:-build/training-image.tar}
DIST=${DIST:-dist}
SERIES=${SERIES:-EIA366_PBRENT366}
SMOKE_TIMEOUT=${SMOKE_TIMEOUT:-2700}

verb=${1:-}
env=${2:-}
[ -n "$verb" ] || die "usage: scripts/deploy.sh VERB [ENV] (see the header of this script)"
[[ "$IMAGE_TAG" =~ ^[A-Za-z0-9_.-]{1,128}$ ]] || die "IMAGE_TAG '$IMAGE_TAG' is not a valid image tag"

need_env() {
  [ -n "$env" ] || die "'$verb' needs an environment: scripts/deploy.sh $verb ENV"
}

# Terraform outputs of ENV, read once per run into $outputs_json. Call read_outputs/resolve in
# the main shell, never inside $(...), or the JSON read there is lost and read again.
outputs_json=""
read_outputs() {
  if [ -z "$outputs_json" ]; then
    outputs_json=$(bash scripts/tf.sh outputs "$env") || die "cannot read the Terraform outputs of '$env'"
  fi
}

# resolve VAR NAME: keep VAR when it is set, else set it to ENV's Terraform output NAME; exported,
# so verbs run as children (stage -> push-image, upload-artifacts) do not read the outputs again.
resolve() {
  local var=$1 name=$2 value
  if [ -z "${!var:-}" ]; then
    read_outputs
    value=$(OUTPUTS="$outputs_json" python3 - "$name" "$env" <<'PY'
import json, os, sys
name, env = sys.argv[1], sys.argv[2]
outputs = json.loads(os.environ["OUTPUTS"] or "{}")
if name not in outputs:
    sys.exit(f"deploy.sh: error: Terraform output '{name}' not found in '{env}' (apply it first)")
print(outputs[name]["value"])
PY
    )
    printf -v "$var" '%s' "$value"
  fi
  export "${var?}"
}

# What `stage` put in place for ENV (image tag + dist/ content), so ensure-staged can skip it.
staged_marker="${TF_BUILD_DIR:-.tfbuild}/$env/staged"
fingerprint() {
  python3 - "$IMAGE_TAG" "$DIST" <<'PY'
import hashlib, pathlib, sys
tag, dist = sys.argv[1], pathlib.Path(sys.argv[2])
print(f"image_tag={tag}")
files = sorted(p for p in dist.rglob("*") if p.is_file() and not p.name.startswith("."))
for path in files:
    print(hashlib.sha256(path.read_bytes()).hexdigest(), path.relative_to(dist).as_posix())
PY
}

# push-image + upload-artifacts with the outputs read once, then remember what was staged.
stage_now() {
  resolve ECR_REPOSITORY ecr_repository_url
  resolve LAKE_BUCKET lake_bucket
  bash "$0" push-image "$env"
  bash "$0" upload-artifacts "$env"
  mkdir -p "$(dirname "$staged_marker")"
  fingerprint >"$staged_marker"
}

case "$verb" in
  image)
    command -v docker >/dev/null || die "docker not found on PATH"
    # Tags are immutable in ECR: an image tagged with a commit SHA must be built from that commit.
    if [ "$IMAGE_TAG" = "$(git rev-parse HEAD 2>/dev/null)" ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
      die "uncommitted changes: commit them, or build with another IMAGE_TAG (e.g. IMAGE_TAG=dev-\$USER)"
    fi
    docker build --pull --tag "$IMAGE_NAME:$IMAGE_TAG" \
      --label "org.opencontainers.image.revision=$IMAGE_TAG" .
    ;;
  save-image)
    mkdir -p "$(dirname "$IMAGE_TAR")"
    docker save --output "$IMAGE_TAR" "$IMAGE_NAME:$IMAGE_TAG"
    echo "saved $IMAGE_NAME:$IMAGE_TAG to $IMAGE_TAR"
    ;;
  load-image)
    [ -f "$IMAGE_TAR" ] || die "no image archive at $IMAGE_TAR: run 'make image save-image' first"
    docker load --input "$IMAGE_TAR"
    ;;
  push-image)
    need_env
    resolve ECR_REPOSITORY ecr_repository_url
    repo=$ECR_REPOSITORY
    [[ "$repo" == *.dkr.ecr.*.amazonaws.com/* ]] || die "ECR repository '$repo' must be a repository URL"
    if uri=$("$IPEACAST" deploy image-uri --repository "$repo" --tag "$IMAGE_TAG" 2>/dev/null); then
      echo "already pushed: $uri (tags are immutable; nothing to do)"
      exit 0
    fi
    docker image inspect "$IMAGE_NAME:$IMAGE_TAG" >/dev/null 2>&1 \
      || die "local image $IMAGE_NAME:$IMAGE_TAG not found: run 'make image' (or load-image) first"
    registry=${repo%%/*}
    region=$(echo "$registry" | sed -E 's/.*\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/\1/')
    aws ecr get-login-password --region "$region" | docker login --username AWS --password-stdin "$registry"
    docker tag "$IMAGE_NAME:$IMAGE_TAG" "$repo:$IMAGE_TAG"
    docker push "$repo:$IMAGE_TAG"
    "$IPEACAST" deploy image-uri --repository "$repo" --tag "$IMAGE_TAG" --digest
    ;;
  stage)
    # Before apply: put the image and artifacts in place so the jobs never point at code not
    # uploaded yet. Only an environment that was never applied (no outputs yet) is skipped;
    # every other failure fails the step.
    need_env
    rm -f "$staged_marker"
    if [ -z "${ECR_REPOSITORY:-}" ] || [ -z "${LAKE_BUCKET:-}" ]; then
      read_outputs
      if ! OUTPUTS="$outputs_json" python3 -c 'import json, os, sys; sys.exit(0 if json.loads(os.environ["OUTPUTS"] or "{}") else 1)'; then
        echo "stage: '$env' has no Terraform outputs yet (first deployment): nothing to stage before apply"
        exit 0
      fi
    fi
    stage_now
    ;;
  ensure-staged)
    # After apply: a no-op when `stage` staged this image tag and dist/ before apply; the real
    # push and upload when it could not (first deployment: no bucket or repository before apply).
    need_env
    if [ -f "$staged_marker" ] && [ "$(cat "$staged_marker")" = "$(fingerprint)" ]; then
      echo "ensure-staged: image $IMAGE_TAG and $DIST/ were staged for '$env' before apply: nothing to do"
      exit 0
    fi
    stage_now
    ;;
  image-uri)
    need_env
    resolve ECR_REPOSITORY ecr_repository_url
    "$IPEACAST" deploy image-uri --repository "$ECR_REPOSITORY" --tag "$IMAGE_TAG"
    ;;
  upload-artifacts)
    need_env
    resolve LAKE_BUCKET lake_bucket
    "$IPEACAST" deploy upload-artifacts --bucket "$LAKE_BUCKET" --dist "$DIST" \
      --manifest "${TF_BUILD_DIR:-.tfbuild}/$env/artifacts.json"
    ;;
  smoke)
    need_env
    resolve STATE_MACHINE state_machine_arn
    "$IPEACAST" deploy smoke --state-machine "$STATE_MACHINE" --series "$SERIES" \
      --run-id "smoke-${IMAGE_TAG:0:7}-$(date -u +%Y%m%d%H%M%S)" --timeout "$SMOKE_TIMEOUT"
    ;;
  run-pipeline)
    need_env
    resolve STATE_MACHINE state_machine_arn
    "$IPEACAST" deploy run --state-machine "$STATE_MACHINE" --series "$SERIES"
    ;;
  *)
    die "unknown verb '$verb'"
    ;;
esac
