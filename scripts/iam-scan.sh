#!/usr/bin/env bash
# cloudsplaining over an account's IAM (`aws iam get-account-authorization-details` JSON), in its
# own virtualenv. Writes cloudsplaining's HTML and JSON report into REPORT_DIR, then prints our
# findings by type and fails on any privilege escalation, resource exposure or credentials
# exposure not accepted in infra/cloudsplaining-exclusions.yml.
#
#   bash scripts/iam-scan.sh AUTH_DETAILS_JSON REPORT_DIR   (scan and judge)
#   bash scripts/iam-scan.sh --setup                        (create the virtualenv only)
#
# IAM_SCAN_PREFIX (default ipeacast) selects the roles, users, groups and policies judged;
# IAM_SCAN_EXCLUSIONS (default infra/cloudsplaining-exclusions.yml) names the accepted findings.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)

die() { echo "iam-scan: error: $*" >&2; exit 1; }

python=${PYTHON:-python3.11}
venv=${CLOUDSPLAINING_VENV:-$root/.venv-cloudsplaining}
requirements=$root/scripts/cloudsplaining-requirements.txt
exclusions=${IAM_SCAN_EXCLUSIONS:-$root/infra/cloudsplaining-exclusions.yml}
prefix=${IAM_SCAN_PREFIX:-ipeacast}
stamp="$venv/.installed-$(cksum <"$requirements" | cut -d' ' -f1)"

if [[ ! -f "$stamp" ]]; then
  # The tests set this: the virtualenv comes from `make iam-scan-setup`, not from inside pytest.
  [[ -z ${IAM_SCAN_NO_SETUP:-} ]] || die "$venv is missing or stale: run \`make iam-scan-setup\`"
  # Set once AWS credentials are present (CI): nothing is installed after the login.
  [[ ${IPEACAST_NO_INSTALL:-} != 1 ]] \
    || die "creating $venv would install packages, but IPEACAST_NO_INSTALL=1 (AWS credentials are present)"
  command -v "$python" >/dev/null || die "$python not found (needed to create $venv)"
  echo "iam-scan: creating $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet --require-hashes -r "$requirements"
  "$venv/bin/cloudsplaining" --version >/dev/null || die "cloudsplaining does not run in $venv"
  touch "$stamp"
fi

[[ ${1:-} == --setup ]] && exit 0
(($# == 2)) || die "usage: $0 AUTH_DETAILS_JSON REPORT_DIR | --setup"
details=$1
report_dir=$2
[[ -s "$details" ]] || die "authorization details not found or empty: $details"
[[ -f "$exclusions" ]] || die "exclusions file not found: $exclusions"

mkdir -p "$report_dir"
name=$(basename "$details" .json)
# cloudsplaining writes iam-results-<name>.json (the results; iam-findings-<name>.json is the same
# data again) and iam-report-<name>.html; --skip-open-report keeps it from opening a browser.
results="$report_dir/iam-results-$name.json"
rm -f "$results" "$report_dir/iam-findings-$name.json" "$report_dir/iam-report-$name.html"
start=$SECONDS
"$venv/bin/cloudsplaining" scan \
  --input-file "$details" \
  --exclusions-file "$exclusions" \
  --output "$report_dir" \
  --skip-open-report >"$report_dir/cloudsplaining.log" 2>&1 \
  || { cat "$report_dir/cloudsplaining.log" >&2; die "cloudsplaining scan failed"; }
[[ -s "$results" ]] || die "cloudsplaining wrote no results file $results"
echo "iam-scan: cloudsplaining scanned $details in $((SECONDS - start))s; report in $report_dir"

"$venv/bin/python" "$root/scripts/iam-scan-summary.py" \
  --prefix "$prefix" --exclusions "$exclusions" --details "$details" "$results"
