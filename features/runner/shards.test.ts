import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type ISupportCodeLibrary, loadConfiguration, loadSupport, runCucumber } from '@cucumber/cucumber/api';
import type { GherkinDocument, Pickle } from '@cucumber/messages';
import fc from 'fast-check';
import { buildRun, buildShardPlugin, type RunBuild } from './build-run.ts';
import { shardRecordSchema } from './run-record.ts';
import { SHARD_PLUGIN_OPTIONS_KEY } from './shard-plugin.ts';
import {
  GATEWAY_SETTING_STEPS,
  OWN_GATEWAY_STEPS,
  type PlannedScenario,
  parseShard,
  plannedScenarioOf,
  planShards,
} from './shards.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const scratch: string[] = [];
after(() => Promise.all(scratch.map((dir) => rm(dir, { recursive: true, force: true }))));
async function scratchDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shards-'));
  scratch.push(dir);
  return dir;
}

test('--shard takes i/n with 1 <= i <= n and names the rule it breaks', () => {
  assert.deepEqual(parseShard('2/3'), { index: 2, count: 3 });
  assert.deepEqual(parseShard('1/1'), { index: 1, count: 1 });
  assert.throws(() => parseShard('4/3'), /shard 4 of 3 does not exist/);
  for (const bad of ['0/3', '1/0', '2', '2/3/4', 'a/b', '-1/3', '1.5/3', '']) {
    assert.throws(() => parseShard(bad), /i\/n|between 1 and n/, bad);
  }
});

/** Scenarios in a few files, some examples of outlines, some sharing gateway settings, some with a gateway of their own. */
const scenariosArbitrary = fc
  .uniqueArray(
    fc.record({
      file: fc.constantFrom('a.feature', 'b.feature', 'cli/c.feature', 'd.feature'),
      line: fc.integer({ min: 1, max: 400 }),
      outline: fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }),
      settings: fc.oneof(fc.constant(''), fc.constant(undefined), fc.constantFrom('s1', 's2', 's3')),
    }),
    { selector: (s) => `${s.file}:${s.line}`, minLength: 0, maxLength: 60 },
  )
  .map((list) =>
    list.map(
      (s): PlannedScenario => ({
        id: `${s.file}:${s.line}`,
        outline: s.outline === undefined ? undefined : `${s.file}:outline-${s.outline}`,
        gatewaySettings: s.settings,
      }),
    ),
  );

const durationsFor = (scenarios: readonly PlannedScenario[], seed: number) =>
  new Map(scenarios.map((s, i) => [s.id, ((i * 7919 + seed) % 23) + 0.5]));

test('every scenario lands on exactly one of the n shards, for any n', () => {
  fc.assert(
    fc.property(scenariosArbitrary, fc.integer({ min: 1, max: 7 }), fc.boolean(), (scenarios, n, timed) => {
      const plan = planShards(scenarios, n, timed ? durationsFor(scenarios, n) : undefined);
      assert.equal(plan.shards.length, n);
      const all = plan.shards.flat();
      assert.equal(all.length, scenarios.length, 'no scenario twice, none lost');
      assert.deepEqual(new Set(all), new Set(scenarios.map((s) => s.id)));
    }),
  );
});

test('the plan depends on the scenarios, not on the order they were found in', () => {
  fc.assert(
    fc.property(
      scenariosArbitrary.chain((s) => fc.tuple(fc.constant(s), fc.shuffledSubarray(s, { minLength: s.length }))),
      fc.integer({ min: 1, max: 5 }),
      fc.boolean(),
      ([scenarios, shuffled], n, timed) => {
        const durations = timed ? durationsFor(scenarios, 3) : undefined;
        const plan = planShards(scenarios, n, durations);
        assert.deepEqual(planShards(scenarios, n, durations), plan, 'deterministic');
        assert.deepEqual(planShards(shuffled, n, durations), plan, 'the same whatever the order');
      },
    ),
  );
});

test('no shard is loaded more than the fair share plus one piece', () => {
  fc.assert(
    fc.property(scenariosArbitrary, fc.integer({ min: 1, max: 6 }), (scenarios, n) => {
      const durations = durationsFor(scenarios, 11);
      const plan = planShards(scenarios, n, durations);
      const cost = (id: string) => durations.get(id) ?? 0;
      const total = scenarios.reduce((sum, s) => sum + cost(s.id), 0);
      const biggest = Math.max(0, ...scenarios.map((s) => cost(s.id)));
      // Groups are cut into pieces of at most half a fair share (or one scenario, if larger).
      const bound = total / n + Math.max(total / n / 2, biggest) + 0.2;
      for (const c of plan.costs) assert.ok(c <= bound, `a shard costs ${c}, more than ${bound} (${plan.costs})`);
    }),
  );
});

test("an outline's examples and scenarios with the same gateway settings stay on one shard", () => {
  const scenarios: PlannedScenario[] = [
    ...Array.from({ length: 24 }, (_, i) => ({
      id: `plain.feature:${i + 1}`,
      outline: undefined,
      gatewaySettings: '',
    })),
    ...[10, 11, 12, 13].map((line) => ({ id: `o.feature:${line}`, outline: 'o.feature:5', gatewaySettings: '' })),
    { id: 'a.feature:3', outline: undefined, gatewaySettings: 'the gateway maps claims with "x->y"' },
    { id: 'z.feature:40', outline: undefined, gatewaySettings: 'the gateway maps claims with "x->y"' },
    { id: 'own.feature:1', outline: undefined, gatewaySettings: undefined },
    { id: 'own.feature:9', outline: undefined, gatewaySettings: undefined },
  ];
  const plan = planShards(scenarios, 3);
  const shardOf = (id: string) => plan.shards.findIndex((s) => s.includes(id));
  assert.equal(new Set([10, 11, 12, 13].map((l) => shardOf(`o.feature:${l}`))).size, 1);
  assert.equal(shardOf('a.feature:3'), shardOf('z.feature:40'));
  assert.deepEqual([...plan.costs].sort(), [10, 11, 11]);
});

test('a scenario known to be slow gets a shard of its own share; one with no duration costs the median', () => {
  const scenarios: PlannedScenario[] = Array.from({ length: 10 }, (_, i) => ({
    id: `x.feature:${i + 1}`,
    outline: undefined,
    gatewaySettings: '',
  }));
  const durations = new Map(scenarios.map((s) => [s.id, 2]));
  durations.set('x.feature:1', 18);
  durations.delete('x.feature:10');
  const plan = planShards(scenarios, 2, durations);
  assert.deepEqual(
    plan.shards.find((s) => s.includes('x.feature:1')),
    ['x.feature:1'],
  );
  assert.deepEqual(plan.costs, [18, 18]);
  // Shards that planned by other durations would split otherwise: their plans differ by name.
  assert.notEqual(planShards(scenarios, 2).fingerprint, plan.fingerprint);
  assert.equal(planShards([...scenarios].reverse(), 2, durations).fingerprint, plan.fingerprint);
});

/** The project's features as Cucumber finds them, with the harness's step definitions. */
let built: RunBuild;
let pluginFile: string;
let featureFiles: string[];
/** Loaded once: every dry run below uses it. */
let library: ISupportCodeLibrary;
before(async () => {
  built = await buildRun(ROOT, { embeddedTargets: false, stepTimeoutMs: 60_000 });
  pluginFile = await buildShardPlugin(ROOT, await scratchDir());
  featureFiles = await findFeatures(join(ROOT, 'features'));
  const { runConfiguration } = await loadConfiguration(
    { file: false, provided: { require: built.supportCode } },
    { cwd: ROOT },
  );
  library = await loadSupport(runConfiguration, { cwd: ROOT });
});
after(() => built?.dispose());

async function findFeatures(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await findFeatures(path)));
    else if (entry.name.endsWith('.feature')) out.push(relative(ROOT, path));
  }
  return out.sort();
}

/** A dry run of Cucumber over `paths` (shard `index`/`count` when given): the scenarios it would run. */
async function dryRun(
  paths: string[],
  shard?: { index: number; count: number; recordFile: string },
): Promise<{ ran: string[]; pickles: Pickle[]; documents: Map<string, GherkinDocument> }> {
  const { runConfiguration } = await loadConfiguration(
    {
      file: false,
      provided: {
        paths,
        dryRun: true,
        format: [],
        ...(shard
          ? {
              plugin: [pathToFileURL(pluginFile).href],
              pluginOptions: { [SHARD_PLUGIN_OPTIONS_KEY]: { ...shard, durations: {} } },
            }
          : {}),
      },
    },
    { cwd: ROOT },
  );
  const pickles = new Map<string, Pickle>();
  const documents = new Map<string, GherkinDocument>();
  const ran: string[] = [];
  const quiet = { cwd: ROOT, stdout: new PassThrough(), stderr: new PassThrough() };
  await runCucumber({ ...runConfiguration, support: library }, quiet, (envelope) => {
    if (envelope.gherkinDocument?.uri) documents.set(envelope.gherkinDocument.uri, envelope.gherkinDocument);
    if (envelope.pickle) pickles.set(envelope.pickle.id, envelope.pickle);
    if (envelope.testCase) {
      const pickle = pickles.get(envelope.testCase.pickleId) as Pickle;
      ran.push(plannedScenarioOf(pickle, documents.get(pickle.uri)).id);
    }
  });
  return { ran, pickles: [...pickles.values()], documents };
}

test('three shards of the real features run every scenario once, and the plan ignores the order of the files', async () => {
  const whole = await dryRun(featureFiles);
  assert.ok(whole.ran.length >= 100, `the suite has ${whole.ran.length} scenarios`);
  assert.equal(new Set(whole.ran).size, whole.ran.length, 'each scenario has a place of its own');
  const dir = await scratchDir();
  const shards: string[][] = [];
  const reversed: string[][] = [];
  for (const index of [1, 2, 3]) {
    const recordFile = join(dir, `shard-${index}.json`);
    shards.push((await dryRun(featureFiles, { index, count: 3, recordFile })).ran.sort());
    const record = shardRecordSchema.parse(JSON.parse(await readFile(recordFile, 'utf8')));
    assert.equal(record.planned, whole.ran.length);
    assert.deepEqual([...record.scenarios].sort(), shards[index - 1]);
    const reverseRecord = join(dir, `reversed-${index}.json`);
    reversed.push(
      (await dryRun([...featureFiles].reverse(), { index, count: 3, recordFile: reverseRecord })).ran.sort(),
    );
    const again = shardRecordSchema.parse(JSON.parse(await readFile(reverseRecord, 'utf8')));
    assert.equal(again.fingerprint, record.fingerprint);
  }
  assert.deepEqual(shards.flat().sort(), [...whole.ran].sort(), 'together the shards run every scenario once');
  assert.deepEqual(reversed, shards, 'the same shards when the files come in reverse order');
  for (const share of shards) {
    assert.ok(
      Math.abs(share.length - whole.ran.length / 3) <= whole.ran.length / 6,
      `shard sizes ${shards.map((s) => s.length)}`,
    );
  }

  // Scenarios declaring the same gateway settings are mostly on one shard.
  const bySettings = new Map<string, Set<number>>();
  for (const pickle of whole.pickles) {
    const planned = plannedScenarioOf(pickle, whole.documents.get(pickle.uri));
    if (!planned.gatewaySettings) continue;
    const on = bySettings.get(planned.gatewaySettings) ?? new Set<number>();
    on.add(shards.findIndex((s) => s.includes(planned.id)));
    bySettings.set(planned.gatewaySettings, on);
  }
  assert.ok(bySettings.size >= 5, `${bySettings.size} distinct gateway settings`);
  for (const [settings, on] of bySettings) assert.equal(on.size, 1, `"${settings}" is split over shards`);
});

test('a shard that gets no scenario runs none and still records its plan', async () => {
  const dir = await scratchDir();
  const recordFile = join(dir, 'shard.json');
  // One shard more than the feature has scenarios: the last one gets none, however the plan groups them.
  const all = (await dryRun(['features/configuration.feature'])).pickles.length;
  const { ran } = await dryRun(['features/configuration.feature'], { index: all + 1, count: all + 1, recordFile });
  assert.deepEqual(ran, []);
  const record = shardRecordSchema.parse(JSON.parse(await readFile(recordFile, 'utf8')));
  assert.equal(record.planned, all);
  assert.deepEqual(record.scenarios, []);
});

test('the steps the plan reads as gateway settings are exactly those whose definitions configure the gateway', async () => {
  // Cucumber's public types keep the library opaque; its step definitions are what loadSupport made.
  const { stepDefinitions } = library as unknown as {
    stepDefinitions: Array<{ matchesStepName(text: string): boolean; code: unknown; unwrappedCode?: unknown }>;
  };
  // A definition configures the gateway when it writes the scenario's settings or starts gateways itself.
  const configures = stepDefinitions.filter((d) =>
    /gatewayOverrides|gatewayUnset|gatewayEnv\(|gateways\.(acquire|retire)\(|startReplicas\(|gatewayUnderPathPrefix\(/.test(
      String(d.unwrappedCode ?? d.code),
    ),
  );
  assert.ok(configures.length >= 8, `${configures.length} definitions configure the gateway`);
  const { pickles } = await dryRun(featureFiles);
  const texts = new Set(pickles.flatMap((p) => p.steps.map((s) => s.text)));
  for (const text of texts) {
    const byDefinition = configures.some((d) => d.matchesStepName(text));
    const byPlan = [...GATEWAY_SETTING_STEPS, ...OWN_GATEWAY_STEPS].some((p) => p.test(text));
    assert.equal(
      byPlan,
      byDefinition,
      byDefinition
        ? `"${text}" configures the gateway: add it to GATEWAY_SETTING_STEPS or OWN_GATEWAY_STEPS (shards.ts)`
        : `"${text}" does not configure the gateway, but shards.ts reads it as a gateway setting`,
    );
  }
});
