/**
 * merge-reports on the reports of real Cucumber runs of a small suite of our own (plain step
 * definitions, no browser, no gateway): the shards are run through the same code as `npm start
 * -- --shard i/n` (runFeatures with the bundled shard plugin) and merged, and the merge is
 * compared with one unsharded run of the same suite.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Envelope } from '@cucumber/messages';
import type { HarnessParameters } from '../support/parameters.ts';
import { buildShardPlugin } from './build-run.ts';
import { MergeInputError, mergeReports } from './merge-reports.ts';
import type { MatrixRow } from './requirements.ts';
import { readRunRecord } from './run-record.ts';
import { runFeatures } from './run-suite.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

let suite: string;
let pluginFile: string;
let runs = 0;

const FEATURE_A = `Feature: A
  @CLISSO-TEST-01
  Scenario: a passes
    Given it passes

  @CLISSO-TEST-01
  Scenario Outline: an outline, example <n>
    Given it <result>

    Examples:
      | n | result |
      | 1 | passes |
      | 2 | passes |
      | 3 | passes |

  @CLISSO-TEST-02
  Scenario: a SHOULD that fails
    Given it fails
`;

const FEATURE_B = `Feature: B
  @CLISSO-TEST-03
  Scenario: b with claim map one
    Given the gateway maps claims with "x->y"
    And it passes

  @CLISSO-TEST-03
  Scenario: b again with claim map one
    Given the gateway maps claims with "x->y"
    And it passes

  @CLISSO-TEST-03
  Scenario: a MUST that fails when told to
    Given a MUST that fails when told to

  @CLISSO-TEST-03
  Scenario: b skipped
    Given it is skipped
`;

const STEPS = `const { Given } = require('@cucumber/cucumber');
Given('it passes', () => {});
Given('it fails', () => { throw new Error('it failed'); });
Given('it is skipped', () => 'skipped');
Given('the gateway maps claims with {string}', (_claimMap) => {});
Given('a MUST that fails when told to', function () {
  if (this.parameters.failMust) throw new Error('the MUST failed');
});
`;

before(async () => {
  // Under the project, so that the step definitions find @cucumber/cucumber in its node_modules.
  await mkdir(join(ROOT, '.tmp'), { recursive: true });
  suite = await mkdtemp(join(ROOT, '.tmp', 'merge-test-'));
  const features = join(suite, 'features');
  await mkdir(features, { recursive: true });
  await writeFile(join(features, 'a.feature'), FEATURE_A);
  await writeFile(join(features, 'b.feature'), FEATURE_B);
  await writeFile(join(features, 'contract.md'), '# Contract\n\n## Section\n');
  await writeFile(
    join(features, 'requirements.yaml'),
    [
      'protocol: contract.md',
      'profiles: {only: the one profile}',
      'sections: {Section: "#section"}',
      'requirements:',
      '  - {id: CLISSO-TEST-01, level: MUST, section: Section, text: one must}',
      '  - {id: CLISSO-TEST-02, level: SHOULD, section: Section, text: two should}',
      '  - {id: CLISSO-TEST-03, level: MUST, section: Section, text: three must}',
      '',
    ].join('\n'),
  );
  pluginFile = await buildShardPlugin(ROOT, suite);
});
after(() => rm(suite, { recursive: true, force: true }));

/** One run of the small suite into `reports`, as `npm start` would make it (shard i/n when given). */
async function run(
  reports: string,
  options: { shard?: [number, number]; failMust?: boolean; expectedFailures?: string[] } = {},
) {
  await mkdir(reports, { recursive: true });
  // A fresh copy of the step definitions per run: Node caches a required file, and Cucumber
  // collects definitions as the file runs.
  const steps = join(suite, `steps-${++runs}.cjs`);
  await writeFile(steps, STEPS);
  const lines: string[] = [];
  const parameters = {
    failMust: options.failMust === true,
    gateway: { label: 'gateway under test' },
    cli: { label: 'cli under test' },
    profile: 'only',
  } as unknown as HarnessParameters;
  const outcome = await runFeatures(
    {
      rootDir: suite,
      supportCode: [steps],
      paths: [join(suite, 'features')],
      tags: undefined,
      name: undefined,
      reportsDir: reports,
      parameters,
      expectedFailures: options.expectedFailures,
      parallel: 1,
      ...(options.shard
        ? {
            shard: { index: options.shard[0], count: options.shard[1], pluginFile, durations: new Map() },
          }
        : {}),
      print: (line) => lines.push(line),
      // Cucumber's summary of these small runs (with their deliberate failures) stays out of the test output.
      cucumberOutput: new PassThrough().resume(),
    },
    parameters,
    Date.now(),
  );
  return { ...outcome, lines };
}

async function merge(out: string, inputs: string[], expectedFailures?: string[]) {
  const lines: string[] = [];
  const outcome = await mergeReports({
    inputs,
    out,
    catalogueFile: join(suite, 'features', 'requirements.yaml'),
    featuresDir: join(suite, 'features'),
    expectedFailures,
    print: (line) => lines.push(line),
  });
  return { ...outcome, lines };
}

async function shards(name: string, count: number, options: { failMust?: boolean; expectedFailures?: string[] } = {}) {
  const dirs: string[] = [];
  for (let i = 1; i <= count; i++) {
    const dir = join(suite, name, `shard-${i}`);
    await run(dir, { ...options, shard: [i, count] });
    dirs.push(dir);
  }
  return dirs;
}

/** The matrix without the order scenarios finished in, which differs between runs. */
async function matrixOf(dir: string) {
  const json = JSON.parse(await readFile(join(dir, 'requirements.json'), 'utf8')) as { requirements: MatrixRow[] };
  return json.requirements.map((r) => ({
    id: r.requirement.id,
    verdict: r.verdict,
    scenarios: r.scenarios.map((s) => `${s.id} ${s.name} ${s.verdict}`).sort(),
  }));
}

async function messagesOf(dir: string): Promise<Envelope[]> {
  return (await readFile(join(dir, 'messages.ndjson'), 'utf8'))
    .split('\n')
    .filter((l) => l)
    .map((l) => JSON.parse(l) as Envelope);
}

test('three shards merged give the requirement matrix, reports and verdict of one run', async () => {
  const single = await run(join(suite, 'single'));
  assert.equal(single.scenarios.length, 9);
  const dirs = await shards('three', 3);
  const records = await Promise.all(dirs.map(readRunRecord));
  assert.deepEqual(
    records.map((r) => r.scenarios.length).reduce((a, b) => a + b),
    9,
  );
  // A shard on its own: the requirements of other shards' scenarios are "not run" there.
  const out = join(suite, 'three', 'merged');
  const merged = await merge(out, dirs);
  assert.equal(merged.complete, true);
  assert.equal(merged.ok, single.ok);
  assert.equal(merged.ok, true, 'a failed SHOULD only warns');
  assert.ok(merged.lines.includes('warning: a SHOULD is not met: a SHOULD that fails'), merged.lines.join('\n'));
  assert.ok(merged.lines.includes('conformance: 7 passed, 0 failed, 1 skipped, 1 warned'), merged.lines.join('\n'));
  assert.deepEqual(await matrixOf(out), await matrixOf(join(suite, 'single')));

  const md = await readFile(join(out, 'requirements.md'), 'utf8');
  assert.match(md, /merged from shards 1\/3, 2\/3, 3\/3 \(plan [0-9a-f]+\): 9 of 9 scenarios/);
  assert.match(md, /\[CLISSO-TEST-01\]\(contract\.md#section\)/);
  await readFile(join(out, 'contract.md'), 'utf8');

  const junit = await readFile(join(out, 'junit.xml'), 'utf8');
  assert.match(junit, /<testsuite name="cli-sso-conformance"[^>]* tests="9" skipped="1" failures="1"/);
  assert.equal(junit.match(/<testcase /g)?.length, 9);

  const messages = await messagesOf(out);
  const kinds = (k: keyof Envelope) => messages.filter((m) => m[k] !== undefined);
  assert.equal(kinds('testRunStarted').length, 1);
  assert.equal(kinds('testRunFinished').length, 1);
  assert.equal(kinds('gherkinDocument').length, 2, 'each feature once');
  assert.equal(kinds('pickle').length, 9, 'each scenario once');
  assert.equal(kinds('testCase').length, 9);
  const pickleIds = new Set(kinds('pickle').map((m) => m.pickle?.id));
  const stepIds = new Set(kinds('stepDefinition').map((m) => m.stepDefinition?.id));
  for (const m of kinds('testCase')) {
    assert.ok(pickleIds.has(m.testCase?.pickleId), 'every test case names a pickle of the merged stream');
    for (const step of m.testCase?.testSteps ?? []) {
      for (const id of step.stepDefinitionIds ?? []) assert.ok(stepIds.has(id), 'and step definitions in it');
    }
  }
  const nodeIds = new Set<string>();
  JSON.stringify(kinds('gherkinDocument'), (key, value) => {
    if (key === 'id') nodeIds.add(value as string);
    return value;
  });
  for (const m of kinds('pickle')) for (const id of m.pickle?.astNodeIds ?? []) assert.ok(nodeIds.has(id));

  const html = await readFile(join(out, 'report.html'), 'utf8');
  for (const name of ['a passes', 'a SHOULD that fails', 'b skipped']) assert.ok(html.includes(name), name);

  const cucumberJson = JSON.parse(await readFile(join(out, 'cucumber.json'), 'utf8')) as Array<{
    elements: unknown[];
  }>;
  assert.equal(cucumberJson.length, 2);
  assert.equal(cucumberJson.flatMap((f) => f.elements).length, 9);
  assert.equal((await readRunRecord(out)).scenarios.length, 9);
});

test('a failed MUST in one shard fails the merged run; expected failures are honoured as in one run', async () => {
  const dirs = await shards('must', 2, { failMust: true });
  const failing = await merge(join(suite, 'must', 'merged'), dirs);
  assert.equal(failing.ok, false);
  assert.ok(failing.lines.includes('conformance: 6 passed, 1 failed, 1 skipped, 1 warned'), failing.lines.join('\n'));

  const expected = ['a MUST that fails when told to', 'a SHOULD that fails'];
  const asExpected = await merge(join(suite, 'must', 'expected'), dirs, expected);
  assert.equal(asExpected.ok, true, asExpected.lines.join('\n'));

  // The expected failures the shards were given count, as in one run: one that passed fails it.
  const recorded = await shards('recorded', 2, { expectedFailures: [...expected] });
  const passedUnexpectedly = await merge(join(suite, 'recorded', 'merged'), recorded);
  assert.equal(passedUnexpectedly.ok, false);
  assert.ok(
    passedUnexpectedly.lines.includes(
      'expected to fail but passed (remove it from the expected failures): a MUST that fails when told to',
    ),
  );
});

test('a missing shard makes the merge incomplete; its requirements are not run', async () => {
  const dirs = await shards('missing', 3);
  const out = join(suite, 'missing', 'merged');
  const merged = await merge(out, [dirs[0] as string, dirs[2] as string]);
  assert.equal(merged.complete, false);
  assert.equal(merged.ok, false);
  assert.ok(
    merged.lines.some((l) => /^incomplete: shard 2\/3 not given/.test(l)),
    merged.lines.join('\n'),
  );
  const record = await readRunRecord(out);
  assert.ok(record.scenarios.length < 9);
});

test('shards that get no scenario write valid empty reports and merge with the others', async () => {
  // Nine scenarios over twelve shards: three get none.
  const dirs = await shards('empty', 12);
  const empties: string[] = [];
  for (const dir of dirs) {
    const record = await readRunRecord(dir);
    if (record.scenarios.length > 0) continue;
    empties.push(dir);
    assert.match(await readFile(join(dir, 'junit.xml'), 'utf8'), /tests="0"/);
    assert.deepEqual(JSON.parse(await readFile(join(dir, 'cucumber.json'), 'utf8')), []);
    const matrix = await matrixOf(dir);
    assert.ok(matrix.every((r) => r.verdict === 'not run'));
  }
  assert.equal(empties.length, 3);
  const merged = await merge(join(suite, 'empty', 'merged'), dirs);
  assert.equal(merged.complete, true);
  assert.deepEqual(await matrixOf(join(suite, 'empty', 'merged')), await matrixOf(join(suite, 'single')));
});

test('the evidence folders of every shard are copied', async () => {
  const dirs = await shards('evidence', 2);
  await mkdir(join(dirs[0] as string, 'evidence', 'first-aaaa'), { recursive: true });
  await writeFile(join(dirs[0] as string, 'evidence', 'first-aaaa', 'cli-transcript.txt'), 'one');
  await mkdir(join(dirs[1] as string, 'evidence', 'second-bbbb'), { recursive: true });
  await writeFile(join(dirs[1] as string, 'evidence', 'second-bbbb', 'gateway.log'), 'two');
  const out = join(suite, 'evidence', 'merged');
  await merge(out, dirs);
  assert.equal(await readFile(join(out, 'evidence', 'first-aaaa', 'cli-transcript.txt'), 'utf8'), 'one');
  assert.equal(await readFile(join(out, 'evidence', 'second-bbbb', 'gateway.log'), 'utf8'), 'two');
});

test('reports that are not shards of one run are refused, naming the reason, and nothing is written', async () => {
  const three = await shards('three-again', 3);
  const two = await shards('two', 2);
  const refuse = async (inputs: string[], pattern: RegExp, out = join(suite, 'refused')) => {
    await assert.rejects(merge(out, inputs), (error: Error) => {
      assert.ok(error instanceof MergeInputError, String(error));
      assert.match(error.message, pattern);
      return true;
    });
  };
  await refuse([three[0] as string, three[0] as string], /are both shard 1\/3/);
  await refuse([three[0] as string, two[1] as string], /plan .*: the shards must come from one run/);
  await refuse([three[0] as string, join(suite, 'single')], /is not a shard/);
  await refuse([join(suite, 'single'), join(suite, 'single')], /ran in both/);
  await refuse([three[0] as string, join(suite, 'nowhere')], /nowhere\/scenarios\.json: cannot read/);
  await refuse([three[0] as string], /also an input/, three[0] as string);
  await assert.rejects(readFile(join(suite, 'refused', 'requirements.json')), { code: 'ENOENT' });
  // And targets: a shard of another gateway is another run.
  const other = join(suite, 'three-again', 'other-target');
  await run(other, { shard: [2, 3] });
  const record = JSON.parse(await readFile(join(other, 'scenarios.json'), 'utf8'));
  record.target.gateway = 'another gateway';
  await writeFile(join(other, 'scenarios.json'), JSON.stringify(record));
  await refuse([three[0] as string, other], /judged another target/);
});

test('on the command line, a bad --shard and a merge of nothing mergeable are usage errors (exit 2)', async () => {
  const { spawnSync } = await import('node:child_process');
  const command = (args: string[]) =>
    spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'features', 'main.ts'), ...args], {
      cwd: ROOT,
      encoding: 'utf8',
    });
  const badShard = command(['--shard', '4/3']);
  assert.equal(badShard.status, 2, badShard.stderr);
  assert.match(badShard.stderr, /--shard.*shard 4 of 3 does not exist/);
  const noFolders = command(['merge-reports', '--out', join(suite, 'cli-out')]);
  assert.equal(noFolders.status, 2, noFolders.stderr);
  const notReports = command(['merge-reports', '--out', join(suite, 'cli-out'), join(suite, 'nowhere')]);
  assert.equal(notReports.status, 2, notReports.stderr);
  assert.match(notReports.stderr, /nowhere\/scenarios\.json: cannot read/);
});
