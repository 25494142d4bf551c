/**
 * `npm test`: every check the project has, in order, ending with one plain line
 * `test: N passed, N failed` (the closing line CI reads).
 *
 *   1. static checks: dependency rules, TypeScript (tsc), lint and format (biome);
 *   2. unit and component tests: every `*.test.ts`, through node's test runner;
 *   3. the conformance features on the embedded default (the same run as `npm start`).
 *
 * Flags: --unit-only (skip the features), --no-static, --no-python (skip the Python targets' own
 * tests, which do not depend on the Node.js that runs this: scripts/other-node.sh uses it).
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
// docs/examples: the library guide's examples (docs/library.md), run as the reader would run them.
const TEST_FOLDERS = [
  'protocol',
  'common',
  'mock-idp',
  'reference-proxy',
  'cli',
  'features',
  'scripts',
  'docs/examples',
];
const args = new Set(process.argv.slice(2));

interface Tally {
  passed: number;
  failed: number;
  skipped: number;
}
const total: Tally = { passed: 0, failed: 0, skipped: 0 };

function run(command: string, commandArgs: string[]): Promise<{ code: number; output: string; errors: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(command, commandArgs, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let output = '';
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      process.stdout.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
      process.stderr.write(chunk);
    });
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output, errors }));
  });
}

async function staticCheck(name: string, command: string, commandArgs: string[]): Promise<void> {
  process.stdout.write(`\n== ${name}\n`);
  const { code } = await run(command, commandArgs);
  if (code === 0) total.passed += 1;
  else {
    total.failed += 1;
    process.stdout.write(`${name}: FAILED (exit ${code})\n`);
  }
}

async function findTests(dir: string): Promise<string[]> {
  const found: string[] = [];
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...(await findTests(path)));
    else if (entry.name.endsWith('.test.ts')) found.push(path);
  }
  return found;
}

/**
 * Node 22 and later. Node 20.20 has the flag but then exits before the TAP file reporter has
 * written its closing `# pass N` lines, and the count below would read 0.
 */
function hasTestForceExit(): boolean {
  return Number(process.versions.node.split('.')[0]) >= 22;
}

/** Node's TAP summary: `# pass N`, `# fail N`, `# skipped N`, `# cancelled N`. */
function tapCount(tap: string, name: string): number {
  const match = new RegExp(`^# ${name} (\\d+)$`, 'm').exec(tap);
  return match ? Number(match[1]) : 0;
}

async function unitTests(): Promise<void> {
  const files = (await Promise.all(TEST_FOLDERS.map((f) => findTests(join(ROOT, f))))).flat().sort();
  process.stdout.write(`\n== unit and component tests (${files.length} files)\n`);
  if (files.length === 0) {
    process.stdout.write('no test files found: that is a failure, not a pass\n');
    total.failed += 1;
    return;
  }
  const tapFile = join(ROOT, 'reports', 'unit.tap');
  const { code } = await run(process.execPath, [
    // The examples import the package by its name ('cli-sso-harness/mock-idp'); the exports map's
    // `source` condition resolves that to the TypeScript here instead of the compiled dist/.
    '--conditions=source',
    '--import',
    'tsx',
    '--test',
    // A file whose tests have all ended exits even when something it started is still open (a
    // server left behind by a failed `before`): its failures are reported instead of the run
    // waiting for ever.
    ...(hasTestForceExit() ? ['--test-force-exit'] : []),
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tapFile}`,
    ...files.map((f) => relative(ROOT, f)),
  ]);
  const tap = await readFile(tapFile, 'utf8').catch(() => '');
  const passed = tapCount(tap, 'pass');
  const failed = tapCount(tap, 'fail') + tapCount(tap, 'cancelled');
  total.passed += passed;
  total.failed += failed;
  total.skipped += tapCount(tap, 'skipped') + tapCount(tap, 'todo');
  if (passed + failed === 0) {
    process.stdout.write('the test runner ran no test: that is a failure\n');
    total.failed += 1;
  } else if (code !== 0 && failed === 0) {
    process.stdout.write(`the test runner exited ${code} without a failed test: counted as a failure\n`);
    total.failed += 1;
  }
}

/** The Python targets' own tests (standard library unittest): the CLI and every broken variant. */
async function pythonTests(): Promise<void> {
  process.stdout.write('\n== Python targets (targets/python/cli_test.py)\n');
  // unittest reports on standard error.
  const { code, errors: output } = await run('python3', [join(ROOT, 'targets/python/cli_test.py')]);
  const ran = Number(/^Ran (\d+) tests? in/m.exec(output)?.[1] ?? '0');
  const failures = /^FAILED \((.*)\)$/m.exec(output)?.[1] ?? '';
  const failed = [...failures.matchAll(/(?:failures|errors)=(\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0);
  if (ran === 0 || (code !== 0 && failed === 0)) {
    process.stdout.write(`the Python tests did not run cleanly (exit ${code}): counted as a failure\n`);
    total.failed += 1;
    return;
  }
  total.passed += ran - failed;
  total.failed += failed;
}

/**
 * The conformance suite against four pairs of targets: our own (the embedded default) under each
 * contract profile, and the two Python targets in targets/python/ that behave like LiteLLM of the
 * documented contract, v3 (an opaque key, no expires_in, no long poll; a CLI that exits 0 on
 * failure, sleeps between polls and keeps its key outside token.json). Every MUST must pass for
 * each; the SHOULDs a Python target skips on purpose only warn.
 */
const CONFORMANCE_RUNS: Array<{ name: string; args: string[] }> = [
  // The breakdown of where the run's time went goes into the log (docs/speed.md reads it).
  { name: 'embedded default', args: ['--timings'] },
  // The harness starts the reference gateway with the run's profile (CLI_SSO_CONTRACT_PROFILE).
  {
    name: 'embedded default, profile litellm-v3',
    args: ['--profile', 'litellm-v3', '--reports', 'reports/profile-litellm-v3'],
  },
  {
    name: 'Python gateway (targets/python/gateway.py), reference CLI',
    args: [
      '--profile',
      'litellm-v3',
      '--gateway-cmd',
      `python3 ${join(ROOT, 'targets/python/gateway.py')} --port {port} --config {config}`,
      '--reports',
      'reports/python-gateway',
    ],
  },
  {
    name: 'reference gateway, Python CLI (targets/python/cli.py)',
    args: [
      '--cli-cmd',
      `python3 ${join(ROOT, 'targets/python/cli.py')}`,
      '--reports',
      'reports/python-cli',
      join(ROOT, 'features/cli'),
    ],
  },
];

async function features(): Promise<void> {
  for (const target of CONFORMANCE_RUNS) {
    process.stdout.write(`\n== conformance features (${target.name})\n`);
    const { code, output } = await run(process.execPath, ['--import', 'tsx', 'features/main.ts', ...target.args]);
    const match = /^conformance: (\d+) passed, (\d+) failed, (\d+) skipped, (\d+) warned$/m.exec(output);
    if (!match) {
      process.stdout.write(`the conformance run printed no summary (exit ${code}): counted as a failure\n`);
      total.failed += 1;
      continue;
    }
    const [passed, failed, skipped, warned] = match.slice(1).map(Number) as [number, number, number, number];
    total.passed += passed + warned;
    total.failed += failed;
    total.skipped += skipped;
    if (code !== 0 && failed === 0) total.failed += 1;
  }
}

await import('node:fs/promises').then((fs) => fs.mkdir(join(ROOT, 'reports'), { recursive: true }));
if (!args.has('--no-static')) {
  await staticCheck('dependency rules', process.execPath, ['--import', 'tsx', 'scripts/check-dependency-rules.ts']);
  await staticCheck('typescript', process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.']);
  await staticCheck('lint and format (biome)', process.execPath, [
    join(ROOT, 'node_modules/@biomejs/biome/bin/biome'),
    'check',
    // A warning is a finding too: it fails the run like an error.
    '--error-on-warnings',
    '.',
  ]);
}
await unitTests();
if (!args.has('--no-python')) await pythonTests();
if (!args.has('--unit-only')) await features();
process.stdout.write(
  `\ntest: ${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}\n`,
);
process.exitCode = total.failed === 0 ? 0 : 1;
