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
export type FaultEndpoint = (typeof FAULT_ENDPOINTS)[number];

/** Faults that change the id_token of a token answer (re-signed, so only the named defect is wrong). */
const ID_TOKEN_KINDS = new Set(['wrong_issuer', 'wrong_audience', 'wrong_signing_key', 'expired_id_token']);

const times = z
  .union([z.literal('once'), z.literal('always'), z.number().int().min(1).max(1_000_000)])
  .default('once')
  .describe('once, always, or how many requests the fault hits');

const common = { endpoint: z.enum(FAULT_ENDPOINTS), times };

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

export type FaultSpec = z.output<typeof faultSpecSchema>;
export type FaultKind = FaultSpec['kind'];

export interface Fault {
  id: string;
  spec: FaultSpec;
  /** Requests this fault has hit so far. */
  hits: number;
}

export class FaultBook {
  private faults: Fault[] = [];
  private nextId = 1;

  /** Add a fault (already checked with faultSpecSchema). Faults on one endpoint fire oldest first. */
  add(spec: FaultSpec): Fault {
    const fault: Fault = { id: `fault-${this.nextId++}`, spec, hits: 0 };
    this.faults.push(fault);
    return structuredClone(fault);
  }

  /** Check an untrusted spec (control API, programmatic callers) and add it. */
  inject(raw: unknown): Fault {
    return this.add(faultSpecSchema.parse(raw));
  }

  list(): Fault[] {
    return structuredClone(this.faults);
  }

  remove(id: string): boolean {
    const before = this.faults.length;
    this.faults = this.faults.filter((f) => f.id !== id);
    return this.faults.length < before;
  }

  clear(): void {
    this.faults = [];
  }

  /** Back to the start: no faults, and the next one is `fault-1` again. */
  reset(): void {
    this.faults = [];
    this.nextId = 1;
  }

  /** The fault that hits this request to `endpoint`, if any; counts the hit and retires spent faults. */
  take(endpoint: FaultEndpoint): Fault | undefined {
    const fault = this.faults.find((f) => f.spec.endpoint === endpoint);
    if (!fault) return undefined;
    fault.hits += 1;
    const limit = fault.spec.times === 'once' ? 1 : fault.spec.times;
    if (limit !== 'always' && fault.hits >= limit) this.remove(fault.id);
    return structuredClone(fault);
  }
}
