/**
 * What one suite run said, read back from its Cucumber messages (`<reports>/messages.ndjson`):
 * every scenario with its tags (Feature tags included) and its verdict. Each line is parsed field by
 * field; lines this reader does not need are skipped.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';

export type Verdict = 'passed' | 'failed' | 'skipped';

export interface ScenarioOutcome {
  /** Stable across runs of the same features: `uri :: name #n` (n counts repeated names, e.g. outlines). */
  key: string;
  name: string;
  uri: string;
  /** Line of the scenario (an outline's example: its row) in the feature file: `uri:line` runs it alone. */
  line: number;
  tags: string[];
  verdict: Verdict;
  /** From the scenario's start to its end, hooks included. */
  durationMs: number;
  /** First failure message, first line only. */
  message: string | undefined;
}

/** Cucumber's timestamps: whole seconds and nanoseconds since the epoch. */
const timestampSchema = z
  .looseObject({ seconds: z.number(), nanos: z.number() })
  .transform((t) => t.seconds * 1000 + t.nanos / 1e6)
  .optional();

const envelopeSchema = z.looseObject({
  pickle: z
    .looseObject({
      id: z.string(),
      uri: z.string(),
      name: z.string(),
      location: z.looseObject({ line: z.number() }).optional(),
      tags: z.array(z.looseObject({ name: z.string() })),
    })
    .optional(),
  testCase: z.looseObject({ id: z.string(), pickleId: z.string() }).optional(),
  testCaseStarted: z.looseObject({ id: z.string(), testCaseId: z.string(), timestamp: timestampSchema }).optional(),
  testStepFinished: z
    .looseObject({
      testCaseStartedId: z.string(),
      testStepResult: z.looseObject({ status: z.string(), message: z.string().optional() }),
    })
    .optional(),
  testCaseFinished: z
    .looseObject({
      testCaseStartedId: z.string(),
      willBeRetried: z.boolean().optional(),
      timestamp: timestampSchema,
    })
    .optional(),
});

/** Cucumber's failing step statuses: undefined, pending and ambiguous steps fail a scenario too. */
const FAILING = new Set(['FAILED', 'AMBIGUOUS', 'UNDEFINED', 'PENDING']);

export async function readScenarioOutcomes(messagesFile: string): Promise<ScenarioOutcome[]> {
  return parseMessages(await readFile(messagesFile, 'utf8'));
}

export function parseMessages(ndjson: string): ScenarioOutcome[] {
  const pickles = new Map<string, { key: string; name: string; uri: string; line: number; tags: string[] }>();
  const seenNames = new Map<string, number>();
  const testCases = new Map<string, string>();
  const attempts = new Map<string, { pickleId: string; startedAtMs: number; statuses: string[]; message?: string }>();
  const outcomes: ScenarioOutcome[] = [];
  for (const line of ndjson.split('\n')) {
    if (line.trim() === '') continue;
    const parsed = envelopeSchema.safeParse(safeJson(line));
    if (!parsed.success) continue;
    const envelope = parsed.data;
    if (envelope.pickle) {
      const { id, uri, name, tags, location } = envelope.pickle;
      const base = `${uri} :: ${name}`;
      const n = (seenNames.get(base) ?? 0) + 1;
      seenNames.set(base, n);
      pickles.set(id, { key: `${base} #${n}`, name, uri, line: location?.line ?? 0, tags: tags.map((t) => t.name) });
    } else if (envelope.testCase) {
      testCases.set(envelope.testCase.id, envelope.testCase.pickleId);
    } else if (envelope.testCaseStarted) {
      const pickleId = testCases.get(envelope.testCaseStarted.testCaseId) ?? '';
      const startedAtMs = envelope.testCaseStarted.timestamp ?? 0;
      attempts.set(envelope.testCaseStarted.id, { pickleId, startedAtMs, statuses: [] });
    } else if (envelope.testStepFinished) {
      const attempt = attempts.get(envelope.testStepFinished.testCaseStartedId);
      const { status, message } = envelope.testStepFinished.testStepResult;
      if (!attempt) continue;
      attempt.statuses.push(status);
      if (attempt.message === undefined && message && status !== 'PASSED') attempt.message = firstLine(message);
    } else if (envelope.testCaseFinished && !envelope.testCaseFinished.willBeRetried) {
      const attempt = attempts.get(envelope.testCaseFinished.testCaseStartedId);
      const pickle = attempt ? pickles.get(attempt.pickleId) : undefined;
      if (!attempt || !pickle) continue;
      const durationMs = Math.max(0, (envelope.testCaseFinished.timestamp ?? 0) - attempt.startedAtMs);
      outcomes.push({ ...pickle, verdict: verdictOf(attempt.statuses), message: attempt.message, durationMs });
    }
  }
  return outcomes;
}

function verdictOf(statuses: readonly string[]): Verdict {
  if (statuses.some((s) => FAILING.has(s))) return 'failed';
  if (statuses.some((s) => s === 'SKIPPED')) return 'skipped';
  return 'passed';
}

function safeJson(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim()
      .slice(0, 200) ?? ''
  );
}
