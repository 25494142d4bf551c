/**
 * Fault injection: make the next request(s) to one endpoint fail in a chosen way, so a relying party's
 * error handling can be tested. A fault fires once, N times or always, then is gone.
 * The faults are applied by provider-middleware.ts; this file only keeps the book.
 */
import { z } from 'zod';

/** Endpoints a fault can target: every oidc-provider endpoint of provider.ts ENDPOINT_PATHS + discovery. */
export const FAULT_ENDPOINTS = [
  'discovery',
  'jwks',
  'authorization',
  'token',
  'userinfo',
  'introspection',
  'revocation',
  'device_authorization',
  'end_session',
] as const;
/** An endpoint a fault can target, one of {@link FAULT_ENDPOINTS}. */
export type FaultEndpoint = (typeof FAULT_ENDPOINTS)[number];

/** Faults that change the id_token of a token answer (re-signed, so only the named defect is wrong). */
const ID_TOKEN_KINDS = new Set(['wrong_issuer', 'wrong_audience', 'wrong_signing_key', 'expired_id_token']);

const times = z
  .union([z.literal('once'), z.literal('always'), z.number().int().min(1).max(1_000_000)])
  .default('once')
  .describe('once, always, or how many requests the fault hits');

const common = { endpoint: z.enum(FAULT_ENDPOINTS), times };

/**
 * The zod schema that checks a fault: {@link FaultBook.inject} and `POST /_mock/faults` parse with it.
 * @internal
 */
export const faultSpecSchema = z
  .discriminatedUnion('kind', [
    z.object({
      ...common,
      kind: z.literal('status'),
      status: z.number().int().min(400).max(599),
      body: z.json().optional(),
    }),
    z.object({
      ...common,
      kind: z.literal('oauth_error'),
      status: z.number().int().min(400).max(599).default(400),
      error: z.string().regex(/^[\x20-\x21\x23-\x5B\x5D-\x7E]+$/, 'must be an RFC 6749 error code'),
      error_description: z.string().optional(),
    }),
    z.object({ ...common, kind: z.literal('delay'), delay_ms: z.number().int().min(1).max(120_000) }),
    z.object({ ...common, kind: z.literal('drop_connection') }),
    z.object({ ...common, kind: z.literal('malformed_body') }),
    z.object({
      ...common,
      kind: z.literal('wrong_issuer'),
      issuer: z.string().default('https://wrong-issuer.example'),
    }),
    z.object({ ...common, kind: z.literal('wrong_audience'), audience: z.string().default('someone-else') }),
    z.object({ ...common, kind: z.literal('wrong_signing_key') }),
    z.object({
      ...common,
      kind: z.literal('expired_id_token'),
      expired_seconds_ago: z.number().int().min(1).default(3600),
    }),
  ])
  .superRefine((spec, ctx) => {
    if (!ID_TOKEN_KINDS.has(spec.kind)) return;
    const allowed = spec.kind === 'wrong_issuer' ? ['token', 'discovery'] : ['token'];
    if (!allowed.includes(spec.endpoint)) {
      ctx.addIssue({
        code: 'custom',
        path: ['endpoint'],
        message: `${spec.kind} applies to ${allowed.join(' or ')} (where id_tokens${spec.kind === 'wrong_issuer' ? ' or the issuer' : ''} are served)`,
      });
    }
  });

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** What every fault has: where it fires and how often. */
export interface FaultBase {
  /** The endpoint it hits. */
  endpoint: FaultEndpoint;
  /**
   * `'once'`, `'always'`, or how many requests (1-1000000) it hits before it is gone.
   * @defaultValue `'once'`
   */
  times?: 'once' | 'always' | number;
}

/** Answer this status and body instead. */
export interface StatusFault extends FaultBase {
  kind: 'status';
  /** 400-599. */
  status: number;
  /** The JSON body; none when absent. */
  body?: JsonValue;
}

/**
 * An OAuth error (RFC 6749 section 5.2 body); at `authorization` it is sent to the client's
 * redirect URI instead, with `state` and `iss`, as a real IdP refuses an authorization.
 */
export interface OAuthErrorFault extends FaultBase {
  kind: 'oauth_error';
  /** The error code, e.g. `invalid_grant`, `access_denied`, `temporarily_unavailable`. */
  error: string;
  /** Its description. */
  error_description?: string;
  /**
   * 400-599.
   * @defaultValue 400
   */
  status?: number;
}

/** Answer normally, that much later. */
export interface DelayFault extends FaultBase {
  kind: 'delay';
  /** 1-120000 milliseconds. */
  delay_ms: number;
}

/** Close the socket without an answer. */
export interface DropConnectionFault extends FaultBase {
  kind: 'drop_connection';
}

/** The same status, with the body `{"this is": not JSON`. */
export interface MalformedBodyFault extends FaultBase {
  kind: 'malformed_body';
}

/** `token`: the id_token's `iss` changed (validly signed); `discovery`: the document's `issuer` changed. */
export interface WrongIssuerFault extends FaultBase {
  kind: 'wrong_issuer';
  /** @defaultValue `'https://wrong-issuer.example'` */
  issuer?: string;
}

/** `token` only: the id_token's `aud` changed (validly signed). */
export interface WrongAudienceFault extends FaultBase {
  kind: 'wrong_audience';
  /** @defaultValue `'someone-else'` */
  audience?: string;
}

/** `token` only: the id_token signed by a key that is not published, under a published `kid`. */
export interface WrongSigningKeyFault extends FaultBase {
  kind: 'wrong_signing_key';
}

/** `token` only: the id_token's `exp` in the past (validly signed). */
export interface ExpiredIdTokenFault extends FaultBase {
  kind: 'expired_id_token';
  /** @defaultValue 3600 */
  expired_seconds_ago?: number;
}

/**
 * A fault to plant with {@link FaultBook.inject}: on `endpoint`, of one `kind`, firing `times`
 * (`'once'` by default), then gone. Several faults on one endpoint fire oldest first.
 *
 * | `kind` | extra fields | effect |
 * | --- | --- | --- |
 * | `status` | `status` (400-599), `body` (any JSON, optional) | answers that status and body instead |
 * | `oauth_error` | `error`, `error_description`?, `status` (400) | an RFC 6749 section 5.2 error; at `authorization` it goes to the client's redirect URI with `state` |
 * | `delay` | `delay_ms` (1-120000) | answers normally, that much later |
 * | `drop_connection` | | closes the socket without an answer |
 * | `malformed_body` | | same status, body `{"this is": not JSON` |
 * | `wrong_issuer` | `issuer` (`https://wrong-issuer.example`) | `token`: id_token `iss` changed (validly signed); `discovery`: the document's `issuer` changed |
 * | `wrong_audience` | `audience` (`someone-else`) | `token` only: id_token `aud` changed |
 * | `wrong_signing_key` | | `token` only: id_token signed by a key that is not published, under a published `kid` |
 * | `expired_id_token` | `expired_seconds_ago` (3600) | `token` only: id_token `exp` in the past |
 */
export type FaultInput =
  | StatusFault
  | OAuthErrorFault
  | DelayFault
  | DropConnectionFault
  | MalformedBodyFault
  | WrongIssuerFault
  | WrongAudienceFault
  | WrongSigningKeyFault
  | ExpiredIdTokenFault;

/** A {@link FaultInput} as checked: `times` and the other defaults filled in. */
export type FaultSpec = z.output<typeof faultSpecSchema>;

// The hand-written FaultInput (for readers and editors) and the schema (the check) describe the same
// input: either drifting from the other breaks the build here.
type SameType<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const faultInputMatchesSchema: SameType<FaultInput, z.input<typeof faultSpecSchema>> = true;
void faultInputMatchesSchema;

/** The kinds of fault: `status`, `oauth_error`, `delay`, `drop_connection`, `malformed_body`, `wrong_issuer`, ... */
export type FaultKind = FaultSpec['kind'];

/** A planted fault. */
export interface Fault {
  /** `fault-1`, `fault-2`, ...: pass it to {@link FaultBook.remove}. */
  id: string;
  /** What it does, defaults filled in. */
  spec: FaultSpec;
  /** Requests this fault has hit so far. */
  hits: number;
}

/**
 * The faults planted in a mock IdP ({@link MockIdp.faults}): each makes the next request(s) to one
 * endpoint fail in a chosen way, so a relying party's error handling can be tested.
 * @example
 * ```ts
 * idp.faults.inject({ endpoint: 'userinfo', kind: 'status', status: 503, times: 'always' });
 * idp.faults.inject({ endpoint: 'token', kind: 'expired_id_token' }); // once
 * idp.faults.clear();
 * ```
 */
export class FaultBook {
  private faults: Fault[] = [];
  private nextId = 1;

  /**
   * Add a fault already checked with the schema ({@link FaultBook.inject} checks it).
   * @returns the planted fault, with its id
   * @internal
   */
  add(spec: FaultSpec): Fault {
    const fault: Fault = { id: `fault-${this.nextId++}`, spec, hits: 0 };
    this.faults.push(fault);
    return structuredClone(fault);
  }

  /**
   * Check a fault and plant it. Faults on one endpoint fire oldest first.
   * @param spec - the fault; see {@link FaultInput} for the kinds and their fields
   * @returns the planted fault, with its id and defaults filled in
   * @throws ZodError naming the field when the spec is not a valid fault (e.g. `wrong_audience` on `userinfo`)
   */
  inject(spec: FaultInput): Fault {
    return this.add(faultSpecSchema.parse(spec));
  }

  /** The faults still planted, oldest first, each with its hit count. */
  list(): Fault[] {
    return structuredClone(this.faults);
  }

  /**
   * Remove one fault.
   * @param id - the fault's id, e.g. `fault-1`
   * @returns false when there was no such fault
   */
  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length < before;
  }

  /** Remove every fault (ids go on counting). */
  clear(): void {
    this.faults = [];
  }

  /**
   * Back to the start: no faults, and the next one is `fault-1` again.
   * @internal
   */
  reset(): void {
    this.faults = [];
    this.nextId = 1;
  }

  /**
   * The fault that hits this request to `endpoint`, if any; counts the hit and retires spent faults.
   * @internal
   */
  take(endpoint: FaultEndpoint): Fault | undefined {
    const fault = this.faults.find((f) => f.spec.endpoint === endpoint);
    if (!fault) return undefined;
    fault.hits += 1;
    const limit = fault.spec.times === 'once' ? 1 : fault.spec.times;
    if (limit !== 'always' && fault.hits >= limit) this.remove(fault.id);
    return structuredClone(fault);
  }
}
