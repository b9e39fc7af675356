#!/usr/bin/env bash
# The model's report of a pull request (docs/delivery.md, "The model's report"): `make run` on
# the repository's snapshot (data/brent-daily.csv, offline) for this checkout, the head, and for
# BASE_DIR, a checkout of main; then scripts/model-report.py compares their metrics.json.
#
#   scripts/model-report.sh run        both runs; keeps report.png and both metrics.json in OUT
#   scripts/model-report.sh section    OUT/section.md (+ the job summary on GitHub), with the
#                                      PNG link MODEL_REPORT_PNG_URL when set
#
# A failing head run fails the script (the change broke the pipeline); a failing base run is
# reported and the section shows the head only (main may predate the report).
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
out=${MODEL_REPORT_DIR:-build/model-report}
series=EIA366_PBRENT366
snapshot=$root/data/brent-daily.csv
run_date=${MODEL_REPORT_RUN_DATE:-$(date -u +%F)}

die() { echo "model-report: error: $*" >&2; exit 1; }

metrics_path() { # lake run_id
  echo "$1/models/series=$series/run_date=$run_date/run_id=$2/metrics.json"
}

run_one() { # checkout name
  local checkout=$1 name=$2
  local lake="$root/$out/$name/lake"
  echo "model-report: $name: make run on the snapshot ($checkout)"
  env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make --no-print-directory -C "$checkout" run \
    SOURCE="$snapshot" LAKE="$lake" RUN_ARGS="--run-date $run_date --run-id $name" \
    >"$root/$out/$name.log" 2>&1
}

case ${1:-} in
  run)
    [[ -f $snapshot ]] || die "$snapshot is missing (the snapshot the report runs on)"
    rm -rf "$out"
    mkdir -p "$out"
    run_one "$root" head || { tail -n 30 "$out/head.log" >&2; die "the head's run failed ($out/head.log)"; }
    cp "$(metrics_path "$out/head/lake" head)" "$out/head-metrics.json"
    cp "$out/head/lake/reports/series=$series/run_date=$run_date/report.png" "$out/report.png"
    if [[ -z ${BASE_DIR:-} ]]; then
      echo "model-report: no BASE_DIR: head only"
    elif run_one "$(cd "$BASE_DIR" && pwd)" base; then
      cp "$(metrics_path "$out/base/lake" base)" "$out/base-metrics.json"
    else
      echo "model-report: warning: main's run failed ($out/base.log); the report shows the head only" >&2
      tail -n 20 "$out/base.log" >&2
    fi
    ;;
  section)
    [[ -f $out/head-metrics.json ]] || die "$out/head-metrics.json is missing: run '$0 run' first"
    args=(render --head "$out/head-metrics.json" --base "$out/base-metrics.json")
    args+=(--png-url "${MODEL_REPORT_PNG_URL:-}" --sha "${HEAD_SHA:-}")
    python3 scripts/model-report.py "${args[@]}" >"$out/section.md"
    if [[ -n ${GITHUB_STEP_SUMMARY:-} ]]; then
      cat "$out/section.md" >>"$GITHUB_STEP_SUMMARY"
    fi
    cat "$out/section.md"
    ;;
  *)
    die "usage: $0 run|section"
    ;;
esac
