#!/usr/bin/env bash
# `npm run pack-check` (run by .ci/run): the package as a user gets it. `npm pack` (prepack builds
# dist/), the tarball installed into an empty folder with production dependencies only (a
# dependency's devDependencies are never installed), then from that folder:
#   1. the tarball holds every file the installed code needs (each exports and bin target, the
#      compiled JavaScript and declarations of every source module, each file the code reads at run
#      time) and no TypeScript source or test;
#   2. tsx and typescript are not in the install folder (so nothing can run TypeScript at run time);
#   3. `npx mock-idp|reference-proxy|cli-sso|sso-conformance|cli-sso-harness --help` answer;
#   4. the library entry points import, the mock IdP starts in process, and a TypeScript consumer
#      type-checks against the shipped declarations (with this repository's tsc, from outside);
#   5. mock-idp and reference-proxy started as commands (node directly, so $! is the PID, stopped by
#      PID) answer HTTP on free ports, the gateway wired to that IdP; `cli-sso-harness dev` starts
#      both and stops on SIGTERM;
#   6. `npx sso-conformance` runs a short suite on the embedded default (an HTTP-only scenario, a
#      browser login, the reference CLI's login, a key's expiry on a moved clock) and its verdict
#      and reports are checked.
# Any missing piece stops the script with "pack-check: FAILED: ..." and exit 1.
#
# better-sqlite3 (an optional dependency, used only on Node < 22.13 where node:sqlite is missing)
# compiles from source when no prebuilt binary can be downloaded: measured here 7 min 50 s of wall
# time (2 min 8 s CPU) for the whole install on 2 busy cores, against 39 s with --ignore-scripts.
# So the install runs with --ignore-scripts and, on a Node that needs better-sqlite3, reuses the
# binary `npm ci` built for this checkout when the installed version is the same one (same Node,
# same ABI); another version is rebuilt (slow, said so). The only other install script in the tree
# is esbuild's postinstall, which only checks the binary that its platform package already holds.
# KEEP=1 keeps the temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
started=$SECONDS

fail() {
  echo "pack-check: FAILED: $*" >&2
  exit 1
}
step() { echo "== pack-check: $*"; }

work=$(mktemp -d "${TMPDIR:-/tmp}/pack-check.XXXXXX")
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  # The folder (~110 MB, mostly node_modules) is removed in the background: its I/O took ~30 s here.
  if [ "${KEEP:-}" = 1 ]; then echo "pack-check: kept $work"; else (rm -rf "$work" >/dev/null 2>&1 &); fi
}
trap cleanup EXIT

step "npm pack (prepack builds dist/)"
t=$SECONDS
npm pack --pack-destination "$work" --silent >"$work/pack.out" || fail "npm pack failed"
tarball="$work/$(tail -n 1 "$work/pack.out")"
[ -f "$tarball" ] || fail "npm pack did not leave a tarball ($(cat "$work/pack.out"))"
echo "tarball: $(basename "$tarball"), $(du -k "$tarball" | cut -f1) kB, $(tar tzf "$tarball" | wc -l) files, packed in $((SECONDS - t)) s"

step "tarball contents"
tar tzf "$tarball" | sed 's|^package/||' | sort >"$work/contents.txt"
node - "$root" "$work/contents.txt" <<'EOF' || fail "the tarball is incomplete (above)"
const { readFileSync, readdirSync } = require('node:fs');
const { join, relative } = require('node:path');
const [root, listFile] = process.argv.slice(2);
const have = new Set(readFileSync(listFile, 'utf8').split('\n').filter(Boolean));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const need = new Map(); // file -> why
const want = (file, why) => need.set(file.replace(/^\.\//, ''), why);
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target === 'string') want(target, `exports ${subpath}`);
  else for (const condition of ['types', 'default']) want(target[condition], `exports ${subpath} (${condition})`);
}
for (const [name, file] of Object.entries(pkg.bin)) want(file, `bin ${name}`);
want('bin/run-command.mjs', 'bin wrappers');
for (const file of ['LICENSE', 'CHANGELOG.md', 'README.md']) want(file, 'package documents');
// Every module of the compiled folders, and every other file there (read at run time).
const compiled = ['protocol', 'common', 'mock-idp', 'reference-proxy', 'cli', 'features', 'scripts/dev'];
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === 'test-support' ? [] : walk(join(dir, e.name))) : [join(dir, e.name)],
  );
for (const folder of compiled) {
  for (const path of walk(join(root, folder))) {
    const file = relative(root, path);
    if (/\.test\.ts$/.test(file) || /(^|\/)README\.md$/.test(file)) continue;
    if (file.endsWith('.ts')) {
      want(`dist/${file.replace(/\.ts$/, '.js')}`, `compiled ${file}`);
      want(`dist/${file.replace(/\.ts$/, '.d.ts')}`, `declarations of ${file}`);
    } else want(`dist/${file}`, `run-time file ${file}`);
  }
}
want('dist/docs/contract.md', 'the contract the reports link to (features/requirements.yaml)');
const missing = [...need].filter(([file]) => !have.has(file));
const extra = [...have].filter((f) => (/\.ts$/.test(f) && !/\.d\.ts$/.test(f)) || /\.test\./.test(f) || f.includes('/.tmp/'));
const changelog = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');
const problems = [
  ...missing.map(([file, why]) => `missing ${file} (${why})`),
  ...extra.map((f) => `should not be in the package: ${f}`),
  ...(changelog.includes(`## [${pkg.version}]`) ? [] : [`CHANGELOG.md has no "## [${pkg.version}]" entry for package.json's version`]),
  ...(pkg.private ? ['package.json is private: npm would refuse to publish it'] : []),
];
for (const p of problems) console.error(`pack-check: ${p}`);
if (problems.length > 0) process.exit(1);
console.log(`${need.size} required files present, no TypeScript source or test file`);
EOF

step "install into an empty folder (production dependencies only)"
app="$work/app"
mkdir -p "$app"
echo '{ "name": "pack-check-app", "private": true, "type": "module" }' >"$app/package.json"
t=$SECONDS
(cd "$app" && npm install --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error "$tarball") ||
  fail "npm install of the tarball failed"
echo "installed in $((SECONDS - t)) s"
pkgdir="$app/node_modules/cli-sso-harness"
for dev in tsx typescript; do
  [ ! -e "$app/node_modules/$dev" ] || fail "$dev is installed with the package: something depends on it at run time"
done
if ! node -e "require('node:sqlite')" 2>/dev/null; then
  sqlite="$app/node_modules/better-sqlite3"
  [ -d "$sqlite" ] || fail "better-sqlite3 is not installed, and Node $(node --version) has no node:sqlite"
  if [ "$(node -p "require('$sqlite/package.json').version")" = "$(node -p "require('$root/node_modules/better-sqlite3/package.json').version")" ] &&
    [ -f "$root/node_modules/better-sqlite3/build/Release/better_sqlite3.node" ]; then
    mkdir -p "$sqlite/build/Release"
    cp "$root/node_modules/better-sqlite3/build/Release/better_sqlite3.node" "$sqlite/build/Release/"
    echo "better-sqlite3: this checkout's build reused (same version, same Node)"
  else
    echo "better-sqlite3: another version than this checkout's: building it (about 2 min of CPU)"
    (cd "$app" && npm rebuild better-sqlite3 --no-audit --no-fund) || fail "better-sqlite3 did not build"
  fi
fi

step "commands answer --help"
cd "$app"
for command in mock-idp reference-proxy cli-sso sso-conformance cli-sso-harness; do
  out=$(npx --no-install "$command" --help 2>&1) || fail "npx $command --help exited $?: $out"
  grep -q "^Usage: $command" <<<"$out" || fail "npx $command --help printed no usage: $out"
  echo "npx $command --help: ok"
done

step "library entry points"
node --input-type=module - <<'EOF' || fail "the library entry points do not load (above)"
const idpApi = await import('cli-sso-harness/mock-idp');
const proxyApi = await import('cli-sso-harness/reference-proxy');
const protocolApi = await import('cli-sso-harness/protocol');
for (const [name, api] of Object.entries({ 'mock-idp': idpApi, 'reference-proxy': proxyApi, protocol: protocolApi })) {
  if (Object.keys(api).length === 0) throw new Error(`cli-sso-harness/${name} exports nothing`);
}
if (typeof proxyApi.startReferenceProxy !== 'function') throw new Error('no startReferenceProxy in cli-sso-harness/reference-proxy');
const idp = await idpApi.startMockIdp({ port: 0 });
try {
  const answer = await fetch(idp.endpoints.discovery);
  if (answer.status !== 200) throw new Error(`the in-process mock IdP's discovery answered ${answer.status}`);
} finally {
  await idp.close();
}
console.log('cli-sso-harness/mock-idp, /reference-proxy, /protocol import; startMockIdp() serves discovery');
EOF
cat >"$app/consumer.ts" <<'EOF'
import { startMockIdp } from 'cli-sso-harness/mock-idp';
import { startReferenceProxy } from 'cli-sso-harness/reference-proxy';

const idp = await startMockIdp({ port: 0 });
const discovery: string = idp.endpoints.discovery;
console.log(discovery, typeof startReferenceProxy);
await idp.close();
EOF
# skipLibCheck as most consumers have it: the declarations name types of oidc-provider and express,
# whose @types packages a consumer installs only if it uses them.
cat >"$app/tsconfig.json" <<EOF
{ "compilerOptions": { "target": "ES2023", "module": "NodeNext", "moduleResolution": "NodeNext", "strict": true,
  "noEmit": true, "skipLibCheck": true, "types": ["node"], "typeRoots": ["$root/node_modules/@types"] },
  "files": ["consumer.ts"] }
EOF
node "$root/node_modules/typescript/bin/tsc" -p "$app" || fail "a TypeScript consumer does not type-check against the shipped declarations"
echo "a TypeScript consumer type-checks against the declarations"

step "mock-idp, reference-proxy and cli-sso-harness dev started as commands"
free_port() { node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
wait_http() { # URL, what, pid: 200 within 30 s while the process lives
  local deadline=$((SECONDS + 30))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ]; do
    kill -0 "$3" 2>/dev/null || fail "$2 exited before answering $1 (log: $(tail -n 5 "$work/$2.log"))"
    [ $SECONDS -lt $deadline ] || fail "$2 did not answer 200 at $1 within 30 s"
    sleep 0.2
  done
  echo "$2 (pid $3) answers 200 at $1"
}
idp_port=$(free_port)
node node_modules/.bin/mock-idp --port "$idp_port" >"$work/mock-idp.log" 2>&1 &
idp_pid=$!
pids+=("$idp_pid")
wait_http "http://127.0.0.1:$idp_port/.well-known/openid-configuration" mock-idp "$idp_pid"
gw_port=$(free_port)
GENERIC_CLIENT_ID=litellm-cli-test GENERIC_CLIENT_SECRET=litellm-cli-test-secret \
  GENERIC_AUTHORIZATION_ENDPOINT="http://127.0.0.1:$idp_port/authorize" \
  GENERIC_TOKEN_ENDPOINT="http://127.0.0.1:$idp_port/token" \
  GENERIC_USERINFO_ENDPOINT="http://127.0.0.1:$idp_port/userinfo" \
  LITELLM_MASTER_KEY="sk-pack-check-$(node -p "require('node:crypto').randomBytes(16).toString('hex')")" \
  node node_modules/.bin/reference-proxy --port "$gw_port" >"$work/reference-proxy.log" 2>&1 &
gw_pid=$!
pids+=("$gw_pid")
wait_http "http://127.0.0.1:$gw_port/health/liveliness" reference-proxy "$gw_pid"
start=$(curl -s -X POST -H 'content-type: application/json' -d '{}' "http://127.0.0.1:$gw_port/sso/cli/start")
grep -q '"login_id":"cli-' <<<"$start" || fail "POST /sso/cli/start answered: $start"
echo "reference-proxy starts a CLI login"
kill "$gw_pid" "$idp_pid"
wait "$gw_pid" "$idp_pid" 2>/dev/null || true
pids=()
node node_modules/.bin/cli-sso-harness dev --idp-port 0 --gateway-port 0 >"$work/dev.log" 2>&1 &
dev_pid=$!
pids+=("$dev_pid")
deadline=$((SECONDS + 30))
until grep -q 'Ctrl-C stops both servers' "$work/dev.log"; do
  kill -0 "$dev_pid" 2>/dev/null || fail "cli-sso-harness dev exited before it was ready: $(tail -n 5 "$work/dev.log")"
  [ $SECONDS -lt $deadline ] || fail "cli-sso-harness dev was not ready within 30 s"
  sleep 0.2
done
kill "$dev_pid"
wait "$dev_pid" || fail "cli-sso-harness dev did not stop cleanly on SIGTERM (exit $?)"
pids=()
echo "cli-sso-harness dev (pid $dev_pid) starts both servers and stops on SIGTERM"

step "npx sso-conformance: a short suite on the embedded default"
scenarios='A new login session has a well-formed id, poll secret and code|After signing in, the browser is asked for the code the CLI shows|LiteLLM'"'"'s default user logs in and lists the models|A key lasts exactly its configured lifetime on both model routes \(default 24 h\)'
t=$SECONDS
set +e
npx --no-install sso-conformance --reports "$work/reports" --name "^($scenarios)\$" 2>&1 | tee "$work/suite.log"
code=${PIPESTATUS[0]}
set -e
[ "$code" = 0 ] || fail "npx sso-conformance exited $code"
grep -q '^conformance: 4 passed, 0 failed, 0 skipped' "$work/suite.log" ||
  fail "the short suite did not pass its 4 scenarios: $(grep '^conformance:' "$work/suite.log" || echo 'no conformance line')"
for report in report.html junit.xml cucumber.json requirements.html requirements.md requirements.json contract.md scenarios.json; do
  [ -s "$work/reports/$report" ] || fail "reports/$report is missing or empty"
done
grep -q 'tests="4"' "$work/reports/junit.xml" || fail "reports/junit.xml does not count 4 tests"
echo "short suite: 4 passed in $((SECONDS - t)) s; reports complete"

echo "pack-check: ok in $((SECONDS - started)) s"
