/**
 * What a suite run said about each scenario, reduced from Cucumber's message stream: the one reducer
 * for the runner (live, as the messages come) and for the tools that read a finished run back from
 * its `messages.ndjson` (the self-check, the mutation judge).
 *
 * A scenario is known by its id `uri:line` (an Outline's example: the line of its row), the id the
 * shard plan uses (shards.ts): stable across runs of the same feature files, and `npm start -- uri:line`
 * runs it alone.
 */
import { readFile } from 'node:fs/promises';
import {
  type Envelope,
  type GherkinDocument,
  type Pickle,
  TestStepResultStatus,
  type Timestamp,
} from '@cucumber/messages';
import { SKIP_REASON_PREFIX } from '../support/skip-reason.ts';
import { plannedScenarioOf } from './shards.ts';

export type ScenarioVerdict = 'passed' | 'failed' | 'skipped';

export interface ScenarioResult {
  /** `uri:line` of the scenario (an Outline's example: of its row), as shards.ts plans them. */
  id: string;
  name: string;
  uri: string;
  tags: string[];
  verdict: ScenarioVerdict;
  /** First failure message or skip reason, whole. */
  message: string | undefined;
  /** From the scenario's start to its end, hooks included (Cucumber's own timestamps). */
  durationMs: number;
}

/** Cucumber's failing step statuses: undefined, pending and ambiguous steps fail a scenario too. */
const FAILING: ReadonlySet<TestStepResultStatus> = new Set([
  TestStepResultStatus.FAILED,
  TestStepResultStatus.AMBIGUOUS,
  TestStepResultStatus.UNDEFINED,
  TestStepResultStatus.PENDING,
]);

interface Attempt {
  pickleId: string;
  statuses: TestStepResultStatus[];
  message?: string;
  startedMs: number;
}

/** Follows the message stream: documents, pickles, test cases, step results, finished scenarios. */
export class ScenarioResultReducer {
  private readonly documents = new Map<string, GherkinDocument>();
  private readonly pickles = new Map<string, Pickle>();
  private readonly testCases = new Map<string, string>();
  private readonly attempts = new Map<string, Attempt>();
  private readonly finished: ScenarioResult[] = [];

  /** Takes one message; returns the scenario it finished, if it finished one (its last attempt). */
  onMessage(envelope: Envelope): ScenarioResult | undefined {
    if (envelope.gherkinDocument?.uri) {
      this.documents.set(envelope.gherkinDocument.uri, envelope.gherkinDocument);
    } else if (envelope.pickle) {
      this.pickles.set(envelope.pickle.id, envelope.pickle);
    } else if (envelope.testCase) {
      this.testCases.set(envelope.testCase.id, envelope.testCase.pickleId);
    } else if (envelope.testCaseStarted) {
      const started = envelope.testCaseStarted;
      this.attempts.set(started.id, {
        pickleId: this.testCases.get(started.testCaseId) ?? '',
        statuses: [],
        startedMs: millisOf(started.timestamp),
      });
    } else if (envelope.testStepFinished) {
      const attempt = this.attempts.get(envelope.testStepFinished.testCaseStartedId);
      const result = envelope.testStepFinished.testStepResult;
      if (attempt) {
        attempt.statuses.push(result.status);
        if (!attempt.message && result.message && result.status !== TestStepResultStatus.PASSED)
          attempt.message = result.message;
      }
    } else if (envelope.attachment?.testCaseStartedId && envelope.attachment.body.startsWith(SKIP_REASON_PREFIX)) {
      const attempt = this.attempts.get(envelope.attachment.testCaseStartedId);
      if (attempt) attempt.message ??= envelope.attachment.body;
    } else if (envelope.testCaseFinished) {
      const finished = envelope.testCaseFinished;
      const attempt = this.attempts.get(finished.testCaseStartedId);
      if (!attempt || finished.willBeRetried) return undefined;
      const pickle = this.pickles.get(attempt.pickleId);
      const id = pickle
        ? plannedScenarioOf(pickle, this.documents.get(pickle.uri)).id
        : `(unknown):${finished.testCaseStartedId}`;
      const result: ScenarioResult = {
        id,
        name: pickle?.name ?? '(unknown scenario)',
        uri: pickle?.uri ?? '',
        tags: pickle?.tags.map((t) => t.name) ?? [],
        verdict: verdictOf(attempt.statuses),
        message: attempt.message,
        durationMs: Math.max(0, millisOf(finished.timestamp) - attempt.startedMs),
      };
      this.finished.push(result);
      return result;
    }
    return undefined;
  }

  /** Every scenario finished so far, in the order they finished. */
  results(): ScenarioResult[] {
    return this.finished;
  }
}

function verdictOf(statuses: readonly TestStepResultStatus[]): ScenarioVerdict {
  if (statuses.some((s) => FAILING.has(s))) return 'failed';
  if (statuses.includes(TestStepResultStatus.SKIPPED)) return 'skipped';
  return 'passed';
}

function millisOf(timestamp: Timestamp): number {
  return timestamp.seconds * 1000 + timestamp.nanos / 1e6;
}

/**
 * The scenarios of a finished run, read from its `messages.ndjson`. Lines that are not JSON (a run
 * killed while writing) are skipped; the file is Cucumber's own, so its messages are taken as they are.
 */
export function parseMessages(ndjson: string): ScenarioResult[] {
  const reducer = new ScenarioResultReducer();
  for (const line of ndjson.split('\n')) {
    if (line.trim() === '') continue;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(line) as Envelope;
    } catch {
      continue;
    }
    reducer.onMessage(envelope);
  }
  return reducer.results();
}

export async function readScenarioResults(messagesFile: string): Promise<ScenarioResult[]> {
  return parseMessages(await readFile(messagesFile, 'utf8'));
}

/** The first line of a message that says something, cut to `max` characters. */
export function firstLine(text: string, max = 300): string {
  return (
    text
      .split('\n')
      .find((l) => l.trim() !== '')
      ?.trim()
      .slice(0, max) ?? ''
  );
}
