/** What one fuzzed endpoint is: how to generate an input, how to run it, and what was seen. */
import type fc from 'fast-check';
import type { FuzzContext } from './context.ts';
import { cut, describeRequest, type RequestSpec } from './model.ts';
import type { WireAnswer } from './wire.ts';

export type EndpointGroup = 'gateway' | 'mock-idp' | 'mock-idp-control' | 'users-file';

export interface Observation {
  /** Histogram key: the status code, `reset`/`timeout` (no answer), or an in-process outcome. */
  outcome: string;
  /** HTTP status of the fuzzed request (0: none). */
  status: number;
  request?: Record<string, unknown>;
  answer?: string;
  /** Oracle violations the endpoint saw itself (a set-up step's 5xx, an issued key refused...). */
  problems: string[];
  /** Set when this input broke an upstream on purpose, so a 502/504 is the right answer. */
  upstreamBroken?: boolean;
  ms?: number;
}

export interface Endpoint<R = unknown> {
  name: string;
  group: EndpointGroup;
  /** Method and path, for the report. */
  what: string;
  recipe: () => fc.Arbitrary<R>;
  run: (recipe: R, ctx: FuzzContext) => Promise<Observation>;
  /** Servers (Systems keys) replaced after a failing input. */
  servers: readonly string[];
  /** An answer slower than this is a failure (a hang, a pathological regex). Default 5000 ms. */
  slowMs?: number;
  /**
   * Inputs change the servers for what follows (the control API): after every failing input the
   * servers are replaced. Otherwise only after the first input of each kind of failure.
   */
  stateful?: boolean;
}

/** What the fuzzed request got; the printable forms are made only when a report needs them. */
export function observe(spec: RequestSpec, answer: WireAnswer, problems: string[] = []): Observation {
  let request: Record<string, unknown> | undefined;
  let text: string | undefined;
  return {
    outcome:
      answer.status !== 0 ? String(answer.status) : answer.error?.startsWith('client:') ? 'unsendable' : 'no-answer',
    status: answer.status,
    problems,
    ms: Math.round(answer.ms),
    get request() {
      request ??= describeRequest(spec);
      return request;
    },
    get answer() {
      text ??=
        answer.status === 0
          ? (answer.error ?? 'no answer')
          : `${answer.status} ${cut(answer.body.toString('utf8').replace(/\s+/g, ' '), 300)}`;
      return text;
    },
  };
}

/** Define an endpoint with its recipe type inferred. */
export function endpoint<R>(definition: Endpoint<R>): Endpoint<unknown> {
  return definition as unknown as Endpoint<unknown>;
}
