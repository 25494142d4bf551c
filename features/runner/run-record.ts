/**
 * What a run leaves for later runs and for merge-reports, beside its reports:
 *
 * - `scenarios.json` (every run): the target, each scenario's place, name, tags, verdict, first
 *   message and duration, the expected failures it was given and whether Cucumber's run itself
 *   succeeded. merge-reports judges merged shards from these; `--shard-durations` reads durations
 *   from one.
 * - `shard.json` (a `--shard i/n` run): the plan the shard followed (written by shard-plugin.ts).
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

export const RUN_RECORD_FILE = 'scenarios.json';
export const SHARD_RECORD_FILE = 'shard.json';
const FORMAT = 'sso-conformance-run/1';

export const shardRecordSchema = z.object({
  index: z.number().int().min(1),
  count: z.number().int().min(1),
  /** Identifies n, the planned scenarios and their costs (shards.ts fingerprintOf): equal in every shard of a run. */
  fingerprint: z.string().min(1),
  /** Scenarios planned over all shards. */
  planned: z.number().int().min(0),
  costs: z.array(z.number()),
  /** This shard's scenario ids. */
  scenarios: z.array(z.string()),
});
export type ShardRecord = z.infer<typeof shardRecordSchema>;

const scenarioSchema = z
  .object({
    id: z.string().min(1),
    name: z.string(),
    uri: z.string(),
    tags: z.array(z.string()),
    verdict: z.enum(['passed', 'failed', 'skipped']),
    message: z.string().optional(),
    durationMs: z.number().min(0),
  })
  // JSON leaves out a missing message; a ScenarioResult names it.
  .transform((s) => ({ ...s, message: s.message }));

export const runRecordSchema = z.object({
  format: z.literal(FORMAT),
  /** `profile`: the contract profile the run judged (absent in records written before profiles). */
  target: z.object({ gateway: z.string(), cli: z.string(), profile: z.string().optional() }),
  shard: shardRecordSchema.nullable(),
  expectedFailures: z.array(z.string()).nullable(),
  /** Cucumber's own verdict: false with no failed scenario means a hook or the run itself broke. */
  cucumberSucceeded: z.boolean(),
  wallMs: z.number().min(0),
  scenarios: z.array(scenarioSchema),
});
export type RunRecord = z.infer<typeof runRecordSchema>;

export async function writeRunRecord(dir: string, record: Omit<RunRecord, 'format'>): Promise<void> {
  const full: RunRecord = { format: FORMAT, ...record };
  await writeFile(join(dir, RUN_RECORD_FILE), `${JSON.stringify(full, null, 2)}\n`);
}

/** Reads a file that must match `schema`; the error names the file and the first field that is wrong. */
async function readJson<T>(file: string, schema: z.ZodType<T>, what: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new Error(`${file}: cannot read ${what} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new Error(`${file}: not JSON, expected ${what}`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(
      `${file}: ${issue?.path.join('.') || '(file)'} ${issue?.message ?? 'is invalid'} (expected ${what})`,
    );
  }
  return parsed.data;
}

/** The run record in a reports folder. */
export function readRunRecord(dir: string): Promise<RunRecord> {
  return readJson(join(dir, RUN_RECORD_FILE), runRecordSchema, `the ${RUN_RECORD_FILE} a run writes`);
}

export function readShardRecord(file: string): Promise<ShardRecord> {
  return readJson(file, shardRecordSchema, 'a shard record');
}

/**
 * Seconds by scenario id from an earlier run's `scenarios.json`, or from the reports folder that
 * holds one (a merged run's too). Skipped scenarios are left out: their time says nothing.
 */
export async function readDurations(path: string): Promise<Map<string, number>> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new Error(`${path}: no such file or folder (expected a reports folder or its ${RUN_RECORD_FILE})`);
  const file = info.isDirectory() ? join(path, RUN_RECORD_FILE) : path;
  const record = await readJson(file, runRecordSchema, `the ${RUN_RECORD_FILE} a run writes`);
  return new Map(record.scenarios.filter((s) => s.verdict !== 'skipped').map((s) => [s.id, s.durationMs / 1000]));
}
