#!/usr/bin/env bash
# Offline Terraform checks: fmt, init -backend=false + validate for every root, terraform test.
#
# Providers come from a filesystem mirror (TF_PLUGIN_MIRROR, default /opt/tf-plugins) when it
# exists, otherwise from the public registry; the script writes its own CLI configuration so a
# laptop's ~/.terraformrc or a stray TF_CLI_CONFIG_FILE cannot change what is checked.
set -euo pipefail

cd "$(dirname "$0")/.."
repo_root=$(pwd)

roots=(infra/bootstrap environments/dev environments/prod)
test_dirs=(infra/stack infra/bootstrap)

die() { echo "terraform-check: error: $*" >&2; exit 1; }

command -v terraform >/dev/null || die "terraform not found on PATH (Terraform >= 1.10 is required)"

mirror=${TF_PLUGIN_MIRROR:-/opt/tf-plugins}
work=${TF_CHECK_DIR:-$repo_root/.tfbuild}
mkdir -p "$work"
cli_config="$work/terraform.rc"

if [[ -d "$mirror/registry.terraform.io/hashicorp/aws" ]]; then
  cat >"$cli_config" <<HCL
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
HCL
  echo "terraform-check: providers from the filesystem mirror $mirror"
else
  # No mirror: the registry must answer, or nothing can be validated.
  if ! curl -fsS --max-time 10 -o /dev/null https://registry.terraform.io/v1/providers/hashicorp/aws/versions; then
    die "no provider mirror at $mirror (set TF_PLUGIN_MIRROR) and the Terraform registry is not reachable"
  fi
  printf 'provider_installation {\n  direct {}\n}\n' >"$cli_config"
  echo "terraform-check: no mirror at $mirror; providers from the Terraform registry"
fi
export TF_CLI_CONFIG_FILE=$cli_config
export TF_IN_AUTOMATION=1
export TF_INPUT=0
unset TF_WORKSPACE

echo "== terraform fmt -check -recursive"
terraform fmt -check -recursive -diff infra environments

echo "== environments differ only in values"
# Same code for every environment: only terraform.tfvars and the state key may differ.
for f in main.tf variables.tf versions.tf outputs.tf backend.tf; do
  for env_dir in environments/*/; do
    env=$(basename "$env_dir")
    [[ "$env" == dev ]] && continue
    diff -u <(sed 's/\bdev\b/ENV/g' "environments/dev/$f") <(sed "s/\\b$env\\b/ENV/g" "$env_dir$f") \
      || die "environments/dev/$f and $env_dir$f differ beyond the environment name; put the difference in terraform.tfvars"
  done
done

# One data dir per directory under .tfbuild/, so directories never share or leave a .terraform/,
# and each directory is initialised once even when it is both a root and a test directory.
declare -A initialised=()
init_once() {
  local dir=$1
  export TF_DATA_DIR="$work/${dir//\//_}"
  [[ -n "${initialised[$dir]:-}" ]] && return 0
  terraform -chdir="$dir" init -backend=false -input=false -no-color >"$work/init.log" 2>&1 \
    || { cat "$work/init.log" >&2; die "terraform init failed in $dir"; }
  initialised[$dir]=1
}

for root in "${roots[@]}"; do
  [[ -d "$root" ]] || die "Terraform root $root is missing"
  echo "== $root: init -backend=false, validate"
  init_once "$root"
  terraform -chdir="$root" validate -no-color
done

for dir in "${test_dirs[@]}"; do
  echo "== $dir: terraform test"
  init_once "$dir"
  terraform -chdir="$dir" test -no-color
done

echo "terraform-check: all Terraform checks passed"
