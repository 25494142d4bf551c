/**
 * The CLI's side of the wire: POST /sso/cli/start, GET /sso/cli/poll/{login_id} and GET /models
 * (docs/contract.md sections 2 and 8). Answers are parsed field by field with the
 * parsers of protocol/cli-sso.ts; failures become typed errors that name the gateway, the status
 * and the gateway's own message. Secrets travel only in headers, never in a URL.
 */
import { z } from 'zod';
import {
  CLI_SSO_PATHS,
  joinUrl,
  POLL_SECRET_HEADER,
  type PollAnswer,
  parsePollAnswer,
  parseStartAnswer,
  type StartAnswer,
  WireFormatError,
} from '../protocol/cli-sso.ts';
import { apiErrorTypeOf, errorMessageOf } from '../protocol/errors.ts';
import { redactText } from '../protocol/redact.ts';
import { shown } from './terminal-safe.ts';

/** The gateway answered with an HTTP error status. */
export class GatewayHttpError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
    /** The gateway's own message (`detail` or `error.message`), redacted; undefined if none. */
    readonly gatewayMessage: string | undefined,
    /** LiteLLM's `error.type`, e.g. `expired_key`. */
    readonly errorType: string | undefined,
  ) {
    super(`${operation} failed: HTTP ${status}${gatewayMessage ? ` (${gatewayMessage})` : ''}`);
    this.name = 'GatewayHttpError';
  }
}

/**
 * The request was never sent: a value that must travel in a header (the key, the poll secret) cannot
 * be put in one. Not a network failure, so never retried; the value itself is not in the message.
 */
export class RequestNotSentError extends Error {
  constructor(
    readonly operation: string,
    reason: string,
  ) {
    super(`${operation} failed before anything was sent: ${reason}`);
    this.name = 'RequestNotSentError';
  }
}

/**
 * A key or poll secret travels in an HTTP header, so it is visible ASCII without spaces (what a bearer
 * token is made of): a line break in one would be refused by the HTTP stack with the whole value in
 * its message, or worse, split the header.
 */
export const SENDABLE_SECRET_RULE = 'must be printable ASCII without spaces, line breaks or control characters';
const SENDABLE_SECRET = /^[\x21-\x7e]+$/;

export function isSendableSecret(value: string): boolean {
  return SENDABLE_SECRET.test(value);
}

/** No HTTP answer at all: connection refused, reset, DNS failure... */
export class GatewayUnreachableError extends Error {
  constructor(
    readonly operation: string,
    readonly baseUrl: string,
    readonly reason: string,
  ) {
    super(`${operation} failed: cannot reach the gateway at ${baseUrl} (${reason})`);
    this.name = 'GatewayUnreachableError';
  }
}

/** The gateway took the connection but did not answer in time. */
export class GatewayTimeoutError extends Error {
  constructor(
    readonly operation: string,
    readonly baseUrl: string,
    readonly timeoutMs: number,
  ) {
    super(`${operation} failed: the gateway at ${baseUrl} did not answer within ${formatMs(timeoutMs)}`);
    this.name = 'GatewayTimeoutError';
  }
}

/** Tenths of a second at most: the budget left when a request starts is a few ms short of the flag. */
function formatMs(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/**
 * Worth trying again after a pause: no answer, or an answer that says "later" (429, 502-504).
 * A 500 is a gateway bug and a 4xx is a refusal: retrying would only hide them (section 9).
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof GatewayUnreachableError) return true;
  if (error instanceof GatewayHttpError) return [429, 502, 503, 504].includes(error.status);
  return false;
}

export interface RequestOptions {
  /** Cancels the request (Ctrl-C). An abort surfaces as an AbortError. */
  signal?: AbortSignal;
  /** Give up on this one request after this long. */
  timeoutMs: number;
}

export interface PollOptions extends RequestOptions {
  loginId: string;
  pollSecret: string;
  /** Sent as `?team_id=` once the user chose a team (section 2, poll step 5). */
  teamId?: string;
  /** Ask the gateway to hold the poll open (RFC 7240 `Prefer: wait=N`, our extension). */
  preferWaitSeconds?: number;
}

export interface PollResult {
  answer: PollAnswer;
  /** True when the gateway said `Preference-Applied: wait=...`, i.e. it held the poll open. */
  longPollHonoured: boolean;
}

export interface Model {
  id: string;
  object: string;
  created: number | null;
  ownedBy: string | null;
}

const modelsAnswerSchema = z.object({
  data: z.array(
    z.object({
      id: z.string(),
      object: z.string().optional(),
      created: z.number().nullable().optional(),
      owned_by: z.string().nullable().optional(),
    }),
  ),
});

export function parseModelsAnswer(body: unknown): Model[] {
  const result = modelsAnswerSchema.safeParse(body);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(body)';
    throw new WireFormatError('models answer', field, issue ? issue.message : 'is invalid');
  }
  return result.data.data.map((m) => ({
    id: m.id,
    object: m.object ?? 'model',
    created: m.created ?? null,
    ownedBy: m.owned_by ?? null,
  }));
}

interface Operation {
  /** For messages: "<operation> failed: ...". */
  operation: string;
  /** The answer's name in a WireFormatError, as protocol/cli-sso.ts names it. */
  answer: string;
}

const OPERATIONS = {
  start: { operation: 'starting the login', answer: 'start answer' },
  poll: { operation: 'polling the login', answer: 'poll answer' },
  models: { operation: 'listing models', answer: 'models answer' },
} as const satisfies Record<string, Operation>;

export interface GatewayClientOptions {
  baseUrl: string;
  fetch?: typeof fetch;
}

export class GatewayClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;

  constructor(options: GatewayClientOptions) {
    this.baseUrl = options.baseUrl;
    this.fetchImpl = options.fetch ?? fetch;
  }

  /** POST /sso/cli/start: no body, no auth (section 2). */
  async start(options: RequestOptions): Promise<StartAnswer> {
    const { body } = await this.request(OPERATIONS.start, CLI_SSO_PATHS.start, { method: 'POST' }, options);
    return parseStartAnswer(body);
  }

  /** GET /sso/cli/poll/{login_id}; the secret goes in its header, never in the query (section 2). */
  async poll(options: PollOptions): Promise<PollResult> {
    if (!isSendableSecret(options.pollSecret)) {
      throw new RequestNotSentError(OPERATIONS.poll.operation, `the poll secret ${SENDABLE_SECRET_RULE}`);
    }
    const query = options.teamId ? `?${new URLSearchParams({ team_id: options.teamId })}` : '';
    const headers: Record<string, string> = { [POLL_SECRET_HEADER]: options.pollSecret };
    if (options.preferWaitSeconds !== undefined) headers['prefer'] = `wait=${options.preferWaitSeconds}`;
    const { body, response } = await this.request(
      OPERATIONS.poll,
      `${CLI_SSO_PATHS.poll(options.loginId)}${query}`,
      { method: 'GET', headers },
      options,
    );
    const applied = response.headers.get('preference-applied') ?? '';
    return { answer: parsePollAnswer(body), longPollHonoured: /(^|[\s,;])wait\s*=/i.test(applied) };
  }

  /** GET /models with the key as a bearer token (section 2). */
  async listModels(options: RequestOptions & { key: string; authHeaderName?: string }): Promise<Model[]> {
    const headerName = options.authHeaderName ?? 'Authorization';
    if (!isSendableSecret(options.key)) {
      throw new RequestNotSentError(OPERATIONS.models.operation, `the key ${SENDABLE_SECRET_RULE}`);
    }
    const { body } = await this.request(
      OPERATIONS.models,
      CLI_SSO_PATHS.models,
      { method: 'GET', headers: { [headerName]: `Bearer ${options.key}` } },
      options,
    );
    return parseModelsAnswer(body);
  }

  private async request(
    { operation, answer }: Operation,
    path: string,
    init: RequestInit,
    options: RequestOptions,
  ): Promise<{ body: unknown; response: Response }> {
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const url = joinUrl(this.baseUrl, path);
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(url, {
        ...init,
        signal,
        headers: { accept: 'application/json', ...init.headers },
      });
      text = await readCapped(response, MAX_ANSWER_BYTES);
    } catch (error) {
      if (error instanceof AnswerTooLargeError) throw new WireFormatError(answer, '(body)', error.message);
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      // fetch refuses a request it cannot build (a header value it cannot carry) with a TypeError
      // that has no network cause and quotes the value: not a network failure, and never printed.
      if (error instanceof TypeError && error.cause === undefined) {
        throw new RequestNotSentError(operation, 'the request could not be built');
      }
      if (timeout.aborted) throw new GatewayTimeoutError(operation, this.baseUrl, options.timeoutMs);
      throw new GatewayUnreachableError(operation, this.baseUrl, networkReason(error));
    }
    const body = parseJson(text);
    if (!response.ok) {
      const message = body === undefined ? plainTextMessage(text) : errorMessageOf(body);
      throw new GatewayHttpError(
        operation,
        response.status,
        message === undefined ? undefined : shown(redactText(message)),
        apiErrorTypeOf(body),
      );
    }
    if (body === undefined) {
      throw new WireFormatError(answer, '(body)', `must be JSON (got ${describeText(text)})`);
    }
    return { body, response };
  }
}

/**
 * No answer of the contract comes near this size; a larger one is dropped unread instead of being
 * held in memory (CLISSO-CLI-24): a broken or hostile gateway cannot make the CLI buffer without bound.
 */
export const MAX_ANSWER_BYTES = 1 << 20;

class AnswerTooLargeError extends Error {}

/** The body as text, reading no more than `maxBytes`; cancels the rest of the answer. */
async function readCapped(response: Response, maxBytes: number): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0');
  const tooLarge = `is larger than ${maxBytes} bytes, more than any answer of the contract`;
  if (declared > maxBytes) {
    await response.body?.cancel();
    throw new AnswerTooLargeError(tooLarge);
  }
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new AnswerTooLargeError(tooLarge);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function plainTextMessage(text: string): string | undefined {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  if (oneLine === '' || oneLine.startsWith('<')) return undefined;
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}...` : oneLine;
}

function describeText(text: string): string {
  if (text.trim() === '') return 'an empty body';
  return `${text.length} characters starting ${shown(JSON.stringify(redactText(text.slice(0, 20))))}`;
}

/** undici hides the useful part (ECONNREFUSED...) in `cause`. */
function networkReason(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === 'string' ? code : cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}
