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
import {
  AnswerTooLargeError,
  type ExchangeAnswer,
  ExchangeTimeoutError,
  exchange,
  NetworkError,
  RequestNotBuiltError,
} from './http-exchange.ts';
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
    /** An OAuth error body's `error` code (RFC 6749 section 5.2), e.g. `invalid_grant`. */
    readonly oauthError?: string | undefined,
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

/**
 * Worth polling again (CLISSO-CLI-16): what {@link isTransient} retries, and any other 5xx. A poll
 * changes nothing on the gateway, so a 500 costs one more poll, where giving up would end a login
 * that a passing fault of the gateway interrupted.
 */
export function isWorthPollingAgain(error: unknown): boolean {
  return isTransient(error) || (error instanceof GatewayHttpError && error.status >= 500 && error.status <= 599);
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

export interface Operation {
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
}

export class GatewayClient {
  readonly baseUrl: string;

  constructor(options: GatewayClientOptions) {
    this.baseUrl = options.baseUrl;
  }

  /** POST /sso/cli/start: no body, no auth (section 2). */
  async start(options: RequestOptions): Promise<StartAnswer> {
    const { body } = await this.request(OPERATIONS.start, CLI_SSO_PATHS.start, 'POST', {}, options);
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
    const { body, answer } = await this.request(
      OPERATIONS.poll,
      `${CLI_SSO_PATHS.poll(options.loginId)}${query}`,
      'GET',
      headers,
      options,
    );
    const applied = [answer.headers['preference-applied'] ?? ''].flat().join(', ');
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
      'GET',
      { [headerName]: `Bearer ${options.key}` },
      options,
    );
    return parseModelsAnswer(body);
  }

  private request(
    operation: Operation,
    path: string,
    method: 'GET' | 'POST',
    headers: Record<string, string>,
    options: RequestOptions,
  ): Promise<{ body: unknown; answer: ExchangeAnswer }> {
    return requestJson(joinUrl(this.baseUrl, path), this.baseUrl, operation, { method, headers, ...options });
  }
}

/**
 * One JSON exchange with the gateway at `url`, its failures turned into the typed errors above
 * (named after `baseUrl` and the operation); a 2xx answer must be JSON. Used for every route,
 * the PKCE-native login's included.
 */
export async function requestJson(
  url: string,
  baseUrl: string,
  { operation, answer: answerName }: Operation,
  options: RequestOptions & { method: 'GET' | 'POST'; headers: Record<string, string>; body?: string },
): Promise<{ body: unknown; answer: ExchangeAnswer }> {
  let answer: ExchangeAnswer;
  try {
    answer = await exchange(url, {
      method: options.method,
      headers: { accept: 'application/json', ...options.headers },
      signal: options.signal,
      timeoutMs: options.timeoutMs,
      maxBytes: MAX_ANSWER_BYTES,
      body: options.body,
    });
  } catch (error) {
    if (error instanceof AnswerTooLargeError) throw new WireFormatError(answerName, '(body)', error.message);
    // A header the request cannot carry: not a network failure, and the value is never printed.
    if (error instanceof RequestNotBuiltError) throw new RequestNotSentError(operation, error.message);
    if (error instanceof ExchangeTimeoutError) throw new GatewayTimeoutError(operation, baseUrl, options.timeoutMs);
    if (error instanceof NetworkError) throw new GatewayUnreachableError(operation, baseUrl, error.code);
    // Cancelled (Ctrl-C): the signal's reason, as the caller expects.
    throw error;
  }
  const { text } = answer;
  const body = parseJson(text);
  if (answer.status < 200 || answer.status > 299) {
    const message = body === undefined ? plainTextMessage(text) : errorMessageOf(body);
    throw new GatewayHttpError(
      operation,
      answer.status,
      message === undefined ? undefined : shown(redactText(message)),
      apiErrorTypeOf(body),
      oauthErrorOf(body),
    );
  }
  if (body === undefined) {
    throw new WireFormatError(answerName, '(body)', `must be JSON (got ${describeText(text)})`);
  }
  return { body, answer };
}

/** The `error` code of an OAuth error body, when it is one (a plain string of code characters). */
function oauthErrorOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  return typeof error === 'string' && /^[\x20-\x7e]{1,64}$/.test(error) ? error : undefined;
}

/**
 * No answer of the contract comes near this size; a larger one is dropped unread instead of being
 * held in memory (CLISSO-CLI-24): a broken or hostile gateway cannot make the CLI buffer without bound.
 */
export const MAX_ANSWER_BYTES = 1 << 20;

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
