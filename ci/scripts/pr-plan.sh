#!/usr/bin/env bash
# dbtopo's pull-request check for CI systems other than GitHub Actions (GitLab, Jenkins, Buildkite…):
# validate, compile, and write the plan as text, JSON and Markdown into an output directory;
# post plan.md as the merge-request comment with your CI's API (it starts with <!-- dbtopo-plan -->
# so the comment can be found and updated).
#
# Usage: ci/scripts/pr-plan.sh <base-ref> [out-dir]     (run at the root of the GitOps repo)
# Env:   DBTOPO (default: dbtopo), DBTOPO_ARTIFACT_URL (linked when the comment is shortened)
# Exit:  the plan's exit code: 0 ok, 1 compile errors, 2 usage, 3 internal error, 4 forbidden change
set -uo pipefail

base="${1:?usage: pr-plan.sh <base-ref> [out-dir]}"
out="${2:-dbtopo-plan}"
dbtopo="${DBTOPO:-dbtopo}"
mkdir -p "$out"

$dbtopo validate --repo . || exit $?
$dbtopo compile --repo . --out "$out/rendered" || exit $?

$dbtopo plan --repo . --base "$base" --head HEAD --format json --out "$out/plan.json"
code=$?
if [ "$code" -ne 0 ] && [ "$code" -ne 4 ]; then
  $dbtopo plan --repo . --base "$base" --head HEAD --format text >&2
  exit "$code"
fi
$dbtopo plan --repo . --base "$base" --head HEAD --format markdown --out "$out/plan.md" ${DBTOPO_ARTIFACT_URL:+--artifact-url "$DBTOPO_ARTIFACT_URL"}
$dbtopo plan --repo . --base "$base" --head HEAD --format text --out "$out/plan.txt"
cat "$out/plan.txt"
exit "$code"
