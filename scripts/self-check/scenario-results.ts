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
  tags: string[];
  verdict: Verdict;
  /** First failure message, first line only. */
  message: string | undefined;
}

const envelopeSchema = z.looseObject({
  pickle: z
    .looseObject({
      id: z.string(),
      uri: z.string(),
      name: z.string(),
      tags: z.array(z.looseObject({ name: z.string() })),
    })
    .optional(),
  testCase: z.looseObject({ id: z.string(), pickleId: z.string() }).optional(),
  testCaseStarted: z.looseObject({ id: z.string(), testCaseId: z.string() }).optional(),
  testStepFinished: z
    .looseObject({
      testCaseStartedId: z.string(),
      testStepResult: z.looseObject({ status: z.string(), message: z.string().optional() }),
    })
    .optional(),
  testCaseFinished: z.looseObject({ testCaseStartedId: z.string(), willBeRetried: z.boolean().optional() }).optional(),
});

/** Cucumber's failing step statuses: undefined, pending and ambiguous steps fail a scenario too. */
const FAILING = new Set(['FAILED', 'AMBIGUOUS', 'UNDEFINED', 'PENDING']);

export async function readScenarioOutcomes(messagesFile: string): Promise<ScenarioOutcome[]> {
  return parseMessages(await readFile(messagesFile, 'utf8'));
}

export function parseMessages(ndjson: string): ScenarioOutcome[] {
  const pickles = new Map<string, { key: string; name: string; uri: string; tags: string[] }>();
  const seenNames = new Map<string, number>();
  const testCases = new Map<string, string>();
  const attempts = new Map<string, { pickleId: string; statuses: string[]; message?: string }>();
  const outcomes: ScenarioOutcome[] = [];
  for (const line of ndjson.split('\n')) {
    if (line.trim() === '') continue;
    const parsed = envelopeSchema.safeParse(safeJson(line));
    if (!parsed.success) continue;
    const envelope = parsed.data;
    if (envelope.pickle) {
      const { id, uri, name, tags } = envelope.pickle;
      const base = `${uri} :: ${name}`;
      const n = (seenNames.get(base) ?? 0) + 1;
      seenNames.set(base, n);
      pickles.set(id, { key: `${base} #${n}`, name, uri, tags: tags.map((t) => t.name) });
    } else if (envelope.testCase) {
      testCases.set(envelope.testCase.id, envelope.testCase.pickleId);
    } else if (envelope.testCaseStarted) {
      const pickleId = testCases.get(envelope.testCaseStarted.testCaseId) ?? '';
      attempts.set(envelope.testCaseStarted.id, { pickleId, statuses: [] });
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
      outcomes.push({ ...pickle, verdict: verdictOf(attempt.statuses), message: attempt.message });
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
