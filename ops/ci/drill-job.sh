#!/usr/bin/env bash
# One drill job, as every CI example runs it (GitHub Actions, GitLab CI, a Kubernetes pod), from the checkout's root.
#
#   bash ops/ci/drill-job.sh sample [pytest options]   the embedded sample (ops/drills/plan.toml)
#   bash ops/ci/drill-job.sh real   [pytest options]   the real backup(s) named by the variables below
#
# Variables for `real` (CI variables; the token a masked secret):
#   ATLAS_DRILLS_BACKUP_URL    the backup to drill (.tar, .tar.gz or .tar.zst); several, space-separated, make one
#                              drill each (--drill-pick=all), which --drill-shard=K/N spreads over machines
#   ATLAS_DRILLS_BACKUP_TOKEN  optional bearer token for that URL (never printed; reports redact bearer tokens)
#   ATLAS_RELEASE_GIT_URL      the release that should be serving: a git repository holding Atlas's ops/ files
#   ATLAS_RELEASE_REF          its branch or tag (default: the repository's default branch)
#   ATLAS_DRILLS_TARGET        atlas (default: ops/targets/atlas.toml), standin, or a target TOML file
#   ATLAS_TARGET_IMAGE         the image the target runs, pulled when the engine lacks it (default: the target's)
# Other knobs: DRILL_REPORT_DIR (default reports/<kind>), ATLAS_DRILLS_SANDBOX (default docker: a missing engine
# is then a setup error, exit 4, instead of a quiet fall-back to local processes), VENV (default .venv).
#
# It previews the run (atlas-drills plan), then drills; the exit code is pytest's (0 recoverable; 1 a check
# failed or, with --drill-gate, the gate refused; 4 a setup error); the report is in $DRILL_REPORT_DIR/latest/.
set -euo pipefail
kind=${1:?usage: drill-job.sh sample|real [pytest options]}
shift
venv=${VENV:-.venv}
reports=${DRILL_REPORT_DIR:-reports/$kind}
work=${DRILL_WORK_DIR:-.work/ci-$kind}
args=("--drill-report-dir=$reports" "--drill-sandbox=${ATLAS_DRILLS_SANDBOX:-docker}")

case $kind in
sample) ;;
real)
  : "${ATLAS_DRILLS_BACKUP_URL:?set ATLAS_DRILLS_BACKUP_URL (a CI variable) to the backup to drill}"
  : "${ATLAS_RELEASE_GIT_URL:?set ATLAS_RELEASE_GIT_URL (a CI variable) to the release repository holding ops/}"
  rm -rf "$work"
  mkdir -p "$work/backups"
  auth=()
  if [ -n "${ATLAS_DRILLS_BACKUP_TOKEN:-}" ]; then auth=(-H "Authorization: Bearer $ATLAS_DRILLS_BACKUP_TOKEN"); fi
  for url in $ATLAS_DRILLS_BACKUP_URL; do
    name=$(basename "${url%%\?*}")
    echo "drill-job: fetching $name"
    curl -fsS --retry 3 "${auth[@]}" -o "$work/backups/$name" "$url"
  done
  ref=()
  if [ -n "${ATLAS_RELEASE_REF:-}" ]; then ref=(--branch "$ATLAS_RELEASE_REF"); fi
  git clone --quiet --depth 1 "${ref[@]}" "$ATLAS_RELEASE_GIT_URL" "$work/release"
  args+=("--drill-backup=$work/backups" --drill-pick=all "--drill-expect=$work/release")
  args+=("--drill-target=${ATLAS_DRILLS_TARGET:-atlas}")
  if [ -n "${ATLAS_TARGET_IMAGE:-}" ]; then
    args+=("--drill-target-image=$ATLAS_TARGET_IMAGE")
    # The drills never pull (a missing image is a setup error): pull it here, through the engine's API.
    "$venv/bin/python" - "$ATLAS_TARGET_IMAGE" <<'PY'
import sys, docker
from docker.errors import ImageNotFound
client, image = docker.from_env(), sys.argv[1]
try:
    client.images.get(image)
except ImageNotFound:
    print(f"drill-job: pulling {image}", flush=True)
    client.images.pull(image)
PY
  fi
  ;;
*)
  echo "drill-job.sh: $kind: expected sample or real" >&2
  exit 2
  ;;
esac

"$venv/bin/atlas-drills" plan "${args[@]}" "$@" || echo "drill-job: the preview found problems; the drill run reports them"
exec "$venv/bin/python" -m pytest drills -p no:cacheprovider -n 2 --dist loadgroup --max-worker-restart=0 "${args[@]}" "$@"
