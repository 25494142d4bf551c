/**
 * Joins the Cucumber message streams (messages.ndjson) of several shards into one stream, as if
 * one run had run every shard's scenarios, and renders it with Cucumber's own HTML and JUnit
 * formatters.
 *
 * Every shard parses every feature file and emits every pickle, each time with fresh ids, and has
 * its own step definitions, hooks, test run start and finish. The merged stream keeps the first
 * shard's copy of each and points the others' references at it: a Gherkin document's nodes by
 * their place in the document (the same text gives the same tree), a pickle by its feature and
 * nodes, a step definition by its pattern, a hook by its type, name and place. Test cases, their
 * steps and attachments are each shard's own and keep their ids.
 */
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { finished } from 'node:stream/promises';
import type { Envelope } from '@cucumber/messages';

/** Messages every shard repeats, in the order a run emits them before its first test case. */
const DEFINITIONS = [
  'source',
  'gherkinDocument',
  'pickle',
  'parameterType',
  'undefinedParameterType',
  'stepDefinition',
  'hook',
] as const;

export class ShardMismatchError extends Error {}

export function mergeMessageStreams(streams: readonly (readonly Envelope[])[]): Envelope[] {
  const canonical = new Map<string, unknown>();
  const idMap = new Map<string, string>();
  const definitions: Envelope[] = [];
  const rest: Envelope[] = [];
  let meta: Envelope | undefined;
  let started: Envelope['testRunStarted'];
  let finishedAt: NonNullable<Envelope['testRunFinished']>['timestamp'] | undefined;
  let success = true;
  const laterSeconds = (a: { seconds: number; nanos: number }, b: { seconds: number; nanos: number }) =>
    a.seconds * 1e9 + a.nanos > b.seconds * 1e9 + b.nanos;

  for (const stream of streams) {
    // Canonical messages this shard adds are kept; the ones it repeats map to the first copy.
    for (const envelope of stream) {
      if (envelope.meta) {
        meta ??= envelope;
        continue;
      }
      const kind = DEFINITIONS.find((k) => envelope[k] !== undefined);
      if (kind) {
        const key = definitionKey(kind, envelope, idMap);
        const first = canonical.get(key);
        if (first === undefined) {
          canonical.set(key, envelope[kind]);
          definitions.push(remap(envelope, idMap));
        } else {
          if (kind === 'source' && (first as { data: string }).data !== envelope.source?.data) {
            throw new ShardMismatchError(
              `${envelope.source?.uri} differs between the shards: every shard must run the same features`,
            );
          }
          zipIds(envelope[kind], first, idMap);
        }
        continue;
      }
      if (envelope.testRunStarted) {
        const run = envelope.testRunStarted;
        if (!started) started = run;
        else {
          if (run.id && started.id) idMap.set(run.id, started.id);
          if (laterSeconds(started.timestamp, run.timestamp)) started = { ...started, timestamp: run.timestamp };
        }
        continue;
      }
      if (envelope.testRunFinished) {
        const run = envelope.testRunFinished;
        success &&= run.success;
        if (!finishedAt || laterSeconds(run.timestamp, finishedAt)) finishedAt = run.timestamp;
        continue;
      }
      rest.push(remap(envelope, idMap));
    }
  }
  const merged: Envelope[] = [];
  if (meta) merged.push(meta);
  merged.push(...definitions);
  if (started) merged.push({ testRunStarted: started });
  merged.push(...rest);
  if (started || finishedAt) {
    merged.push({
      testRunFinished: {
        success,
        timestamp: finishedAt ?? started?.timestamp ?? { seconds: 0, nanos: 0 },
        ...(started?.id ? { testRunStartedId: started.id } : {}),
      },
    });
  }
  return merged;
}

/** What makes two shards' copies of a definition the same one. */
function definitionKey(kind: (typeof DEFINITIONS)[number], envelope: Envelope, idMap: Map<string, string>): string {
  switch (kind) {
    case 'source':
      return `source ${envelope.source?.uri}`;
    case 'gherkinDocument':
      return `document ${envelope.gherkinDocument?.uri}`;
    case 'pickle': {
      const p = envelope.pickle;
      return `pickle ${p?.uri} ${p?.astNodeIds.map((id) => idMap.get(id) ?? id).join(',')}`;
    }
    case 'stepDefinition': {
      const d = envelope.stepDefinition;
      return `step ${d?.pattern.type} ${d?.pattern.source}`;
    }
    case 'hook': {
      const h = envelope.hook;
      return `hook ${h?.type} ${h?.name ?? ''} ${h?.tagExpression ?? ''} ${h?.sourceReference.location?.line ?? ''}`;
    }
    case 'parameterType':
      return `parameter ${envelope.parameterType?.name}`;
    case 'undefinedParameterType':
      return `undefined parameter ${envelope.undefinedParameterType?.name} ${envelope.undefinedParameterType?.expression}`;
  }
}

/** Walks two copies of one message side by side and maps each id of `copy` to the same place's id in `first`. */
function zipIds(copy: unknown, first: unknown, idMap: Map<string, string>): void {
  if (Array.isArray(copy) && Array.isArray(first)) {
    copy.forEach((item, i) => {
      zipIds(item, first[i], idMap);
    });
  } else if (copy && first && typeof copy === 'object' && typeof first === 'object') {
    for (const [key, value] of Object.entries(copy)) {
      const other = (first as Record<string, unknown>)[key];
      if (key === 'id' && typeof value === 'string' && typeof other === 'string') idMap.set(value, other);
      else zipIds(value, other, idMap);
    }
  }
}

/** A copy of `value` with every id reference (keys `…Id`, `…Ids`) that the map knows replaced. */
function remap<T>(value: T, idMap: ReadonlyMap<string, string>, key = ''): T {
  if (typeof value === 'string') {
    return (/Ids?$/.test(key) ? (idMap.get(value) ?? value) : value) as T;
  }
  if (Array.isArray(value)) return value.map((item) => remap(item, idMap, key)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, remap(v, idMap, k)])) as T;
  }
  return value;
}

export function parseNdjson(text: string, file: string): Envelope[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line, i) => {
      try {
        return JSON.parse(line) as Envelope;
      } catch {
        throw new ShardMismatchError(`${file}:${i + 1}: not a JSON message`);
      }
    });
}

interface FormatterPlugin {
  formatter(context: {
    on: (key: 'message', handler: (envelope: Envelope) => void) => void;
    options: Record<string, unknown>;
    write: (chunk: string | Uint8Array) => void;
    directory?: string;
    logger?: unknown;
    stream?: unknown;
  }): Promise<(() => Promise<void> | void) | undefined> | (() => Promise<void> | void) | undefined;
}

/**
 * The formatters the installed Cucumber itself writes report.html and junit.xml with, found from
 * Cucumber's own place: the merged reports look like a single run's.
 */
function cucumberFormatter(name: 'html' | 'junit'): FormatterPlugin {
  const require = createRequire(import.meta.url);
  if (name === 'html') {
    return (require('@cucumber/cucumber/lib/formatter/builtin/html') as { default: FormatterPlugin }).default;
  }
  const fromCucumber = createRequire(require.resolve('@cucumber/cucumber'));
  return (fromCucumber('@cucumber/junit-xml-formatter') as { default: FormatterPlugin }).default;
}

/** Writes `envelopes` through Cucumber's HTML or JUnit formatter into `file`. */
export async function renderReport(
  name: 'html' | 'junit',
  envelopes: readonly Envelope[],
  file: string,
  options: Record<string, unknown> = {},
): Promise<void> {
  const out = createWriteStream(file);
  const handlers: Array<(envelope: Envelope) => void> = [];
  const cleanup = await cucumberFormatter(name).formatter({
    on: (_key, handler) => {
      handlers.push(handler);
    },
    options,
    write: (chunk) => {
      out.write(chunk);
    },
  });
  for (const envelope of envelopes) for (const handler of handlers) handler(envelope);
  await cleanup?.();
  out.end();
  await finished(out);
}
