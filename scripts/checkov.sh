#!/usr/bin/env bash
# checkov over Terraform, the Dockerfile and the GitHub workflows, in its own virtualenv.
# Target: 0 failed checks; every skip is inline (#checkov:skip=CKV_...:reason) next to the code.
set -euo pipefail

cd "$(dirname "$0")/.."

die() { echo "checkov: error: $*" >&2; exit 1; }

python=${PYTHON:-python3.11}
venv=${CHECKOV_VENV:-.venv-checkov}
requirements=scripts/checkov-requirements.txt
stamp="$venv/.installed-$(cksum "$requirements" | cut -d' ' -f1)"

if [[ ! -f "$stamp" ]]; then
  # the Makefile's guard (docs/delivery.md): nothing is installed once AWS credentials are present
  if [[ "${IPEACAST_NO_INSTALL:-}" == 1 ]]; then
    echo "error: make checkov would install packages, but IPEACAST_NO_INSTALL=1 (AWS credentials are present): run make deploy-setup before the AWS login" >&2
    exit 1
  fi
  command -v "$python" >/dev/null || die "$python not found (needed to create $venv)"
  echo "checkov: creating $venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r "$requirements"
  if "$venv/bin/python" -m pip show python-hcl2 >/dev/null 2>&1; then
    die "python-hcl2 is installed in $venv; it shadows bc-python-hcl2 and breaks checkov"
  fi
  rm -f "$venv"/.installed-*
  touch "$stamp"
fi

# Every path must exist: a missing one would silently shrink the scan.
targets=(infra environments Dockerfile .github/workflows)
missing=()
for t in "${targets[@]}"; do
  [[ -e "$t" ]] || missing+=("$t")
done
((${#missing[@]} == 0)) || die "paths to scan are missing: ${missing[*]}"

args=(--quiet --compact --skip-download --config-file .checkov.yaml)
echo "== checkov: Terraform (infra/, environments/)"
"$venv/bin/checkov" "${args[@]}" --framework terraform -d infra -d environments
echo "== checkov: Dockerfile"
"$venv/bin/checkov" "${args[@]}" --framework dockerfile -f Dockerfile
echo "== checkov: GitHub workflows"
"$venv/bin/checkov" "${args[@]}" --framework github_actions -d .github/workflows
echo "checkov: no failed checks"
