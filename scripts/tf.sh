#!/usr/bin/env bash
# Terraform verbs for one environment; the same commands run on a laptop and in CI.
#
#   scripts/tf.sh providers ENV      download the lock file's providers into .tfbuild/providers
#                                    (no backend, no credentials): CI runs it before the AWS login
#   scripts/tf.sh init   ENV         terraform init against the environment's S3 backend
#   scripts/tf.sh plan   ENV         plan, saved to .tfbuild/ENV/tfplan (+ plan.txt, plan.json)
#   scripts/tf.sh apply  ENV         apply exactly the saved plan .tfbuild/ENV/tfplan
#   scripts/tf.sh drift  ENV         plan -detailed-exitcode; exit 2 when the environment drifted
#   scripts/tf.sh outputs ENV        all outputs as JSON (`ipeacast deploy <verb> ENV` reads them
#                                    at most once per verb)
#
# Settings (environment variables):
#   TF_STATE_BUCKET   state bucket name, passed as -backend-config=bucket=... when set
#                     (environments/ENV/backend.hcl is passed too when it exists)
#   TF_LOCK           true|false: take the state lock while planning (default true; read-only
#                     plan roles use false, they cannot write the lock object)
#   AWS_REGION        also passed as -backend-config=region=... when set
#   IMAGE_TAG         training image tag (commit SHA) to deploy, exported as
#                     TF_VAR_training_image_tag
#   IPEACAST_NO_INSTALL=1  set by the CI login step once AWS credentials are present: init may
#                     then only use providers already installed by `providers` (-plugin-dir),
#                     never download one
#   TF_ENVIRONMENTS_DIR, TF_BUILD_DIR   where the roots and saved plans live
#                     (default environments/ and .tfbuild/; the tests point them elsewhere)
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "tf.sh: error: $*" >&2; exit 1; }

verb=${1:-}
env=${2:-}
[ -n "$verb" ] && [ -n "$env" ] || die "usage: scripts/tf.sh providers|init|plan|apply|drift|outputs ENV"
[[ "$env" =~ ^[a-z][a-z0-9-]*$ ]] || die "environment name '$env' must be lower-case letters, digits, '-'"
root="${TF_ENVIRONMENTS_DIR:-environments}/$env"
[ -d "$root" ] || die "no Terraform root for environment '$env' ($root does not exist)"
command -v terraform >/dev/null || die "terraform not found on PATH (Terraform >= 1.10 is required)"

build_dir=$(mkdir -p "${TF_BUILD_DIR:-.tfbuild}" && cd "${TF_BUILD_DIR:-.tfbuild}" && pwd)
build="$build_dir/$env"
plan_file="$build/tfplan"
providers_dir="$build_dir/providers"
lock=${TF_LOCK:-true}
[[ "$lock" == true || "$lock" == false ]] || die "TF_LOCK must be true or false, got '$lock'"
export TF_IN_AUTOMATION=1 TF_INPUT=0
if [ -n "${IMAGE_TAG:-}" ]; then
  [[ "$IMAGE_TAG" =~ ^[A-Za-z0-9_.-]{1,128}$ ]] || die "IMAGE_TAG '$IMAGE_TAG' is not a valid image tag"
  export TF_VAR_training_image_tag="$IMAGE_TAG"
fi

tf() { terraform -chdir="$root" "$@"; }

init() {
  if [ -z "${TF_STATE_BUCKET:-}" ] && [ ! -f "$root/backend.hcl" ] \
    && grep -qs 'backend "s3"' "$root"/*.tf; then
    die "TF_STATE_BUCKET is not set: export the state bucket name (bootstrap output state_bucket)"
  fi
  local args=(-input=false)
  if [ "${IPEACAST_NO_INSTALL:-}" = 1 ]; then
    [ -d "$providers_dir" ] || die "IPEACAST_NO_INSTALL=1 (AWS credentials are present) and no providers in $providers_dir: run 'make providers ENV=$env' before the AWS login"
    args+=("-plugin-dir=$providers_dir")
  fi
  if [ -f "$root/backend.hcl" ]; then args+=(-backend-config=backend.hcl); fi
  if [ -n "${TF_STATE_BUCKET:-}" ]; then args+=("-backend-config=bucket=$TF_STATE_BUCKET"); fi
  if [ -n "${TF_STATE_BUCKET:-}" ] && [ -n "${AWS_REGION:-}" ]; then
    args+=("-backend-config=region=$AWS_REGION")
  fi
  tf init "${args[@]}" >&2
}

# Plan into $plan_file and record terraform's detailed exit code (0 none, 2 changes) in $build.
plan() {
  mkdir -p "$build"
  # Everything derived from an earlier plan goes, including plan-comment.py's changes.json:
  # a stale summary must never describe this plan.
  rm -f "$plan_file" "$build/plan.txt" "$build/plan.json" "$build/changes.json" "$build/exitcode"
  local rc=0
  tf plan -input=false -lock="$lock" -detailed-exitcode -out="$plan_file" >&2 || rc=$?
  echo "$rc" >"$build/exitcode"
  [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ] || die "terraform plan failed for $env (exit $rc)"
  tf show -no-color "$plan_file" >"$build/plan.txt"
  tf show -json "$plan_file" >"$build/plan.json"
  local what="no changes"
  [ "$rc" -eq 0 ] || what="changes"
  echo "tf.sh: plan for $env saved to $plan_file ($what)" >&2
}

case "$verb" in
  providers)
    # The lock file's providers for this platform, checked against its hashes, copied into a
    # local directory that init uses with -plugin-dir once credentials are present.
    tf init -backend=false -input=false >&2
    data_dir=${TF_DATA_DIR:-.terraform}
    [[ "$data_dir" = /* ]] || data_dir="$root/$data_dir"
    rm -rf "$providers_dir" && mkdir -p "$providers_dir"
    if [ -d "$data_dir/providers" ]; then
      # Hard links where the filesystem allows (the AWS provider is ~700 MB), else a copy.
      cp -RLl "$data_dir/providers/." "$providers_dir/" 2>/dev/null \
        || cp -RL "$data_dir/providers/." "$providers_dir/"
    fi
    echo "tf.sh: providers of $env in $providers_dir" >&2
    ;;
  init)
    init
    ;;
  plan)
    init
    plan
    ;;
  apply)
    [ -f "$plan_file" ] || die "no saved plan at $plan_file: run 'make plan ENV=$env' first (apply only applies a reviewed plan)"
    init
    tf apply -input=false -auto-approve "$plan_file"
    ;;
  drift)
    init
    plan
    if [ "$(cat "$build/exitcode")" -eq 2 ]; then
      msg="drift: environment '$env' differs from the configuration on this commit (see $build/plan.txt)"
      if [ -n "${GITHUB_ACTIONS:-}" ]; then echo "::error title=Terraform drift ($env)::$msg"; fi
      echo "tf.sh: $msg" >&2
      exit 2
    fi
    echo "tf.sh: no drift in $env" >&2
    ;;
  outputs)
    init
    tf output -json
    ;;
  *)
    die "unknown verb '$verb' (providers, init, plan, apply, drift, outputs)"
    ;;
esac
