/**
 * `sso-conformance merge-reports --out DIR SHARD_DIR...`: joins the reports of the shards of one
 * run (`--shard i/n`) into the reports one run would have written: one requirement matrix, one
 * Cucumber HTML report, one JUnit file, one message stream and Cucumber JSON, the evidence of every
 * shard, and one verdict by the rules of a single run (verdict.ts). The requirement catalogue is
 * checked against the features as in a single run.
 *
 * The shards must be of one run: the same plan (n and the scenarios planned), the same target, the
 * same expected failures, no scenario twice. A missing shard, or a shard that planned a scenario
 * and has no result for it, makes the merge incomplete: the reports of what is there are still
 * written, and the verdict is a set-up error.
 */
import { cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Envelope } from '@cucumber/messages';
import { mergeMessageStreams, parseNdjson, renderReport, ShardMismatchError } from './merge-messages.ts';
import { buildMatrix, checkCoverage, loadCatalogue, newestProfile, writeMatrix } from './requirements.ts';
import { type RunRecord, readRunRecord, writeRunRecord } from './run-record.ts';
import { compareIds } from './shards.ts';
import { coverageLines, judgeRun } from './verdict.ts';

export interface MergeOptions {
  /** The shards' reports folders. */
  inputs: readonly string[];
  out: string;
  catalogueFile: string;
  featuresDir: string;
  /** Replaces the expected failures the shards were given (one scenario name each). */
  expectedFailures: readonly string[] | undefined;
  print: (line: string) => void;
}

/** The inputs cannot be merged (unreadable, of different runs, overlapping): nothing is written. */
export class MergeInputError extends Error {}

export interface MergeOutcome {
  /** The verdict of the merged run, as a single run's. */
  ok: boolean;
  /** Every shard of the plan is there with a result for every scenario it planned. */
  complete: boolean;
}

interface Input {
  dir: string;
  record: RunRecord;
}

export async function mergeReports(options: MergeOptions): Promise<MergeOutcome> {
  if (options.inputs.length === 0) throw new MergeInputError('name the reports folders of the shards to merge');
  const out = resolve(options.out);
  const inputs: Input[] = [];
  for (const dir of options.inputs) {
    if (resolve(dir) === out) throw new MergeInputError(`--out ${options.out} is also an input: write elsewhere`);
    const record = await readRunRecord(dir).catch((error: Error) => {
      throw new MergeInputError(error.message);
    });
    inputs.push({ dir, record });
  }
  const problems = checkShards(inputs);
  const target = inputs[0]?.record.target as RunRecord['target'];
  const expectedFailures = options.expectedFailures ?? agreedExpectedFailures(inputs);
  const scenarios = inputs.flatMap((i) => i.record.scenarios).sort((a, b) => compareIds(a.id, b.id));
  const messages = await mergedMessages(inputs, options.print);
  const cucumberJson = await mergedCucumberJson(inputs);

  await mkdir(out, { recursive: true });
  const catalogue = await loadCatalogue(options.catalogueFile);
  // Records written before profiles judged what is now the newest profile's chapter at most.
  const profile = target.profile ?? newestProfile(catalogue);
  options.print(`profile: ${profile}`);
  const coverage = await checkCoverage(catalogue, options.featuresDir, profile);
  for (const line of coverageLines(coverage)) options.print(line);
  const scope = scopeOf(inputs, scenarios.length);
  options.print(scope);
  await writeMatrix(out, catalogue, buildMatrix(catalogue, scenarios, profile), { ...target, profile }, scope);
  const wallMs = Math.max(0, ...inputs.map((i) => i.record.wallMs));
  await writeRunRecord(out, {
    target,
    shard: null,
    expectedFailures: expectedFailures ? [...expectedFailures] : null,
    cucumberSucceeded: inputs.every((i) => i.record.cucumberSucceeded),
    wallMs,
    scenarios,
  });
  await writeFile(join(out, 'messages.ndjson'), messages.map((e) => `${JSON.stringify(e)}\n`).join(''));
  await renderReport('html', messages, join(out, 'report.html'));
  // The suite name a single run gives its JUnit report (run-suite.ts).
  await renderReport('junit', messages, join(out, 'junit.xml'), { suiteName: 'cli-sso-conformance' });
  await writeFile(join(out, 'cucumber.json'), JSON.stringify(cucumberJson, null, 2));
  await copyEvidence(inputs, out);

  for (const problem of problems) options.print(`incomplete: ${problem}`);
  const verdict = judgeRun({
    scenarios,
    catalogue,
    coverage,
    expectedFailures,
    runBroken: inputs.some(
      (i) => !i.record.cucumberSucceeded && !i.record.scenarios.some((s) => s.verdict === 'failed'),
    ),
    noScenarioIsFine: false,
    wallMs,
  });
  for (const line of verdict.lines) options.print(line);
  return { ok: verdict.ok && problems.length === 0, complete: problems.length === 0 };
}

/** Refuses inputs of different runs; returns what is missing from an otherwise sound set of shards. */
function checkShards(inputs: readonly Input[]): string[] {
  const problems: string[] = [];
  const [first] = inputs;
  if (!first) return problems;
  for (const i of inputs) {
    const t = i.record.target;
    if (
      t.gateway !== first.record.target.gateway ||
      t.cli !== first.record.target.cli ||
      t.profile !== first.record.target.profile
    ) {
      throw new MergeInputError(
        `${i.dir} judged another target (gateway ${t.gateway}, CLI ${t.cli}, profile ${t.profile}) than ${first.dir} (gateway ${first.record.target.gateway}, CLI ${first.record.target.cli}, profile ${first.record.target.profile})`,
      );
    }
  }
  const sharded = inputs.filter((i) => i.record.shard);
  if (sharded.length > 0 && sharded.length !== inputs.length) {
    const plain = inputs.find((i) => !i.record.shard) as Input;
    throw new MergeInputError(`${plain.dir} is not a shard (run without --shard) but ${sharded[0]?.dir} is`);
  }
  if (sharded.length === 0) {
    checkNoScenarioTwice(inputs);
    return problems;
  }
  const plan = first.record.shard as NonNullable<RunRecord['shard']>;
  const byIndex = new Map<number, string>();
  for (const i of inputs) {
    const shard = i.record.shard as NonNullable<RunRecord['shard']>;
    if (shard.count !== plan.count || shard.fingerprint !== plan.fingerprint) {
      throw new MergeInputError(
        `${i.dir} is shard ${shard.index}/${shard.count} of plan ${shard.fingerprint}, ${first.dir} is shard ${plan.index}/${plan.count} of plan ${plan.fingerprint}: the shards must come from one run of the same features, filters, n and --shard-durations`,
      );
    }
    const twin = byIndex.get(shard.index);
    if (twin !== undefined)
      throw new MergeInputError(`${twin} and ${i.dir} are both shard ${shard.index}/${shard.count}`);
    byIndex.set(shard.index, i.dir);
  }
  checkNoScenarioTwice(inputs);
  for (const i of inputs) {
    const shard = i.record.shard as NonNullable<RunRecord['shard']>;
    const ran = new Set(i.record.scenarios.map((s) => s.id));
    const missing = shard.scenarios.filter((id) => !ran.has(id));
    if (missing.length > 0) {
      problems.push(
        `shard ${shard.index}/${shard.count} (${i.dir}) has no result for ${missing.length} of its ${shard.scenarios.length} scenarios: ${missing.slice(0, 5).join(', ')}${missing.length > 5 ? ', ...' : ''}`,
      );
    }
  }
  const absent = Array.from({ length: plan.count }, (_, k) => k + 1).filter((k) => !byIndex.has(k));
  if (absent.length > 0) {
    problems.push(
      `shard${absent.length > 1 ? 's' : ''} ${absent.map((k) => `${k}/${plan.count}`).join(', ')} not given: their scenarios are "not run" in the merged reports`,
    );
  }
  return problems;
}

function checkNoScenarioTwice(inputs: readonly Input[]): void {
  const seen = new Map<string, string>();
  for (const i of inputs) {
    for (const s of i.record.scenarios) {
      const other = seen.get(s.id);
      if (other !== undefined)
        throw new MergeInputError(`scenario ${s.id} (${s.name}) ran in both ${other} and ${i.dir}`);
      seen.set(s.id, i.dir);
    }
  }
}

function agreedExpectedFailures(inputs: readonly Input[]): readonly string[] | undefined {
  const lists = inputs.map((i) => i.record.expectedFailures);
  const key = (list: readonly string[] | null) => (list ? JSON.stringify([...new Set(list)].sort()) : 'none');
  const first = lists[0] ?? null;
  const differing = inputs.find((i) => key(i.record.expectedFailures) !== key(first));
  if (differing) {
    throw new MergeInputError(
      `${differing.dir} was given other expected failures than ${inputs[0]?.dir}: pass --expected-failures FILE to merge-reports to judge them all by one list`,
    );
  }
  return first ?? undefined;
}

function scopeOf(inputs: readonly Input[], scenarioCount: number): string {
  const shards = inputs
    .map((i) => i.record.shard)
    .filter((s) => s !== null)
    .sort((a, b) => a.index - b.index);
  if (shards.length === 0) return `merged from ${inputs.length} runs: ${scenarioCount} scenarios`;
  const plan = shards[0] as NonNullable<RunRecord['shard']>;
  return `merged from shards ${shards.map((s) => `${s.index}/${s.count}`).join(', ')} (plan ${plan.fingerprint}): ${scenarioCount} of ${plan.planned} scenarios`;
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/** The shards' message streams as one (merge-messages.ts). */
async function mergedMessages(inputs: readonly Input[], print: (line: string) => void): Promise<Envelope[]> {
  const streams: Envelope[][] = [];
  for (const i of inputs) {
    const file = join(i.dir, 'messages.ndjson');
    if (!(await exists(file))) {
      print(`note: ${file} is missing: report.html, junit.xml and messages.ndjson leave that shard out`);
      continue;
    }
    streams.push(parseNdjson(await readFile(file, 'utf8'), file));
  }
  try {
    return mergeMessageStreams(streams);
  } catch (error) {
    if (error instanceof ShardMismatchError) throw new MergeInputError(error.message);
    throw error;
  }
}

/** The shards' Cucumber JSON reports as one: a feature once, with every shard's scenarios in order. */
async function mergedCucumberJson(inputs: readonly Input[]): Promise<unknown[]> {
  type Feature = { uri?: string; id?: string; elements?: Array<{ line?: number }> };
  const features = new Map<string, Feature>();
  for (const i of inputs) {
    const file = join(i.dir, 'cucumber.json');
    if (!(await exists(file))) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(file, 'utf8'));
    } catch {
      throw new MergeInputError(`${file}: not JSON`);
    }
    if (!Array.isArray(parsed)) throw new MergeInputError(`${file}: expected a JSON array of features`);
    for (const feature of parsed as Feature[]) {
      const key = feature.uri ?? feature.id ?? '';
      const known = features.get(key);
      if (known) known.elements = [...(known.elements ?? []), ...(feature.elements ?? [])];
      else features.set(key, { ...feature, elements: [...(feature.elements ?? [])] });
    }
  }
  return [...features.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, f]) => ({ ...f, elements: [...(f.elements ?? [])].sort((a, b) => (a.line ?? 0) - (b.line ?? 0)) }));
}

/** Each shard's evidence folders, side by side (their names carry a hash of the scenario's place). */
async function copyEvidence(inputs: readonly Input[], out: string): Promise<void> {
  await rm(join(out, 'evidence'), { recursive: true, force: true });
  for (const i of inputs) {
    const from = join(i.dir, 'evidence');
    if (await exists(from)) await cp(from, join(out, 'evidence'), { recursive: true, force: false });
  }
}
