/**
 * The CLI SSO wire contract (docs/contract.md section 2): paths, header names, identifier
 * shapes and the answers of POST /sso/cli/start and GET /sso/cli/poll/{login_id}.
 *
 * Wire field names (snake_case) appear only here; everything returned is camelCase.
 * Every answer from the network is parsed field by field with zod, so a broken gateway gets an
 * error that names the field instead of an `undefined` deep inside a client.
 */
import { z } from 'zod';

/** The gateway paths of a CLI SSO login (and the API routes a key opens). */
export const CLI_SSO_PATHS = {
  start: '/sso/cli/start',
  browserEntry: '/sso/key/generate',
  callback: '/sso/callback',
  /** Where the browser posts the verification code. */
  complete: (loginId: string) => `/sso/cli/complete/${encodeURIComponent(loginId)}`,
  /** Where the CLI polls, with the poll secret in {@link POLL_SECRET_HEADER}. */
  poll: (loginId: string) => `/sso/cli/poll/${encodeURIComponent(loginId)}`,
  models: '/models',
  v1Models: '/v1/models',
  userInfo: '/user/info',
} as const;

/** `source` query value that marks a CLI login at the browser entry point. */
export const CLI_SOURCE = 'litellm-cli';
/** Prefix of the OAuth `state` that routes a callback to the CLI branch. */
export const CLI_STATE_PREFIX = 'litellm-session-token:';
/** Header carrying the poll secret; a secret in the query string is ignored (section 2, poll). */
export const POLL_SECRET_HEADER = 'x-litellm-cli-poll-secret';
/** Pending flows live this long; the TTL is reset on every write of the flow. */
export const FLOW_TTL_SECONDS = 600;
/** LiteLLM's CLI polls every 2 s for up to 300 s (section 8). */
export const POLL_INTERVAL_MS = 2000;
export const LOGIN_TIMEOUT_SECONDS = 300;
/** Upper bound for our `Prefer: wait=N` extension (RFC 7240); a larger N is applied as this (CLISSO-POLL-12). */
export const MAX_PREFER_WAIT_SECONDS = 30;

/** Valid login id form everywhere (section 2, start). */
export const LOGIN_ID_PATTERN = /^cli-[A-Za-z0-9_-]{12,124}$/;
/** The characters of a verification code (no 0, 1, I, O). */
export const USER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
/** Characters in a verification code, shown as `XXXX-XXXX`. */
export const USER_CODE_LENGTH = 8;
/**
 * A user code as it is shown and carried in a URL (`verification_uri_complete`'s `user_code`,
 * docs/contract.md section 10.8): two groups of four characters of the alphabet joined by a dash.
 */
export const DISPLAYED_USER_CODE_PATTERN = new RegExp(`^[${USER_CODE_ALPHABET}]{4}-[${USER_CODE_ALPHABET}]{4}$`);

/** Whether a value has the login id form, {@link LOGIN_ID_PATTERN}. */
export function isValidLoginId(value: unknown): value is string {
  return typeof value === 'string' && LOGIN_ID_PATTERN.test(value);
}

/** Normalise a typed verification code: upper-case, keep only A-Z and 0-9. */
export function normalizeUserCode(raw: string): string {
  return raw.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/** Show an 8-character code as `XXXX-XXXX`. */
export function formatUserCode(code: string): string {
  const normalized = normalizeUserCode(code);
  return normalized.length === USER_CODE_LENGTH ? `${normalized.slice(0, 4)}-${normalized.slice(4)}` : normalized;
}

/** `{base}/sso/key/generate?source=litellm-cli&key={login_id}`: the URL the CLI opens. */
export function browserLoginUrl(baseUrl: string, loginId: string): string {
  // Joined, not resolved: a gateway served under a path (http://host/litellm) keeps it (CLISSO-CLI-25).
  const url = new URL(joinUrl(baseUrl, CLI_SSO_PATHS.browserEntry));
  url.searchParams.set('source', CLI_SOURCE);
  url.searchParams.set('key', loginId);
  return url.toString();
}

/** Join a base URL (with or without a path, with or without trailing slashes) and an absolute path. */
export function joinUrl(baseUrl: string, path: string): string {
  // mutation-equivalent: every path joined is absolute, one leading slash and no other run of slashes: the
  // first run is the leading one
  return new URL(path.replace(/^\/+/, ''), withTrailingSlash(baseUrl)).toString();
}

/** Exactly one trailing slash, so `new URL(relative, base)` keeps the base's path. */
function withTrailingSlash(baseUrl: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/`;
}

/** Thrown when a gateway answer does not have the contract's shape; names the field. */
export class WireFormatError extends Error {
  readonly code = 'wire_format';
  constructor(
    readonly what: string,
    readonly field: string,
    readonly rule: string,
  ) {
    super(`${what}: field "${field}" ${rule}`);
    this.name = 'WireFormatError';
  }
}

function parseWith<T>(schema: z.ZodType<T>, what: string, input: unknown): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = issue && issue.path.length > 0 ? issue.path.join('.') : '(body)';
  throw new WireFormatError(what, field, issue ? issue.message : 'is invalid');
}

// ---- POST /sso/cli/start -------------------------------------------------------------------------

const startAnswerSchema = z.object({
  login_id: z.string().regex(LOGIN_ID_PATTERN, 'must match ^cli-[A-Za-z0-9_-]{12,124}$'),
  poll_secret: z.string().min(1, 'must be a non-empty string'),
  user_code: z.string().min(1, 'must be a non-empty string'),
  // Optional and only a convenience (section 10.8): a value that is not a string is left out, not an error.
  verification_uri_complete: z.unknown().optional(),
  expires_in: z.number().int().positive().optional(),
});

/** The answer to `POST /sso/cli/start`, camelCased. */
export interface StartAnswer {
  /** `login_id`: names the flow in the browser URL and the poll path. */
  loginId: string;
  /** `poll_secret`: only the CLI has it; sent in {@link POLL_SECRET_HEADER}. */
  pollSecret: string;
  /** `user_code`: the verification code the CLI shows and the person types in the browser. */
  userCode: string;
  /**
   * `verification_uri_complete` when the gateway offered it as a string (section 10.8): the browser
   * URL with the code filled in. It comes from the network: a client checks where it leads before
   * opening it (CLISSO-CLI-29).
   */
  verificationUriComplete?: string | undefined;
  /** `expires_in`, else {@link FLOW_TTL_SECONDS}. */
  expiresInSeconds: number;
}

/**
 * Check and read the JSON body of a start answer.
 * @throws {@link WireFormatError} naming the first field that breaks the contract
 */
export function parseStartAnswer(body: unknown): StartAnswer {
  const wire = parseWith(startAnswerSchema, 'start answer', body);
  return {
    loginId: wire.login_id,
    pollSecret: wire.poll_secret,
    userCode: wire.user_code,
    ...(typeof wire.verification_uri_complete === 'string'
      ? { verificationUriComplete: wire.verification_uri_complete }
      : {}),
    expiresInSeconds: wire.expires_in ?? FLOW_TTL_SECONDS,
  };
}

/** The wire (snake_case) form of a start answer, for a gateway written in TypeScript. */
export function serializeStartAnswer(answer: StartAnswer): Record<string, unknown> {
  return {
    login_id: answer.loginId,
    poll_secret: answer.pollSecret,
    user_code: answer.userCode,
    // Before `expires_in`, as LiteLLM orders it.
    ...(answer.verificationUriComplete !== undefined
      ? { verification_uri_complete: answer.verificationUriComplete }
      : {}),
    expires_in: answer.expiresInSeconds,
  };
}

// ---- GET /sso/cli/poll/{login_id} ----------------------------------------------------------------

/** A team in a poll answer's `team_details`. */
export interface TeamDetail {
  /** `team_id` */
  teamId: string;
  /** `team_alias` */
  teamAlias: string | null;
}

/** Flat, dot-joined attribution metadata as returned in the poll answer (section 5). */
export type AttributionMetadata = Record<string, string | number | boolean>;

/**
 * The answer to `GET /sso/cli/poll/{login_id}`, camelCased: still `pending`, a `team_selection`
 * to make (the wire's `requires_team_selection`), or `ready` with the key.
 */
export type PollAnswer =
  | { status: 'pending' }
  | {
      status: 'team_selection';
      userId: string;
      teams: string[];
      teamDetails: TeamDetail[];
      attributionMetadata?: AttributionMetadata;
    }
  | {
      status: 'ready';
      key: string;
      userId: string;
      teamId: string | null;
      teams: string[];
      teamDetails: TeamDetail[];
      attributionMetadata?: AttributionMetadata;
      /** Our extension; absent from LiteLLM's answer. */
      expiresInSeconds?: number;
    };

const teamDetailSchema = z.object({
  team_id: z.string(),
  team_alias: z.string().nullable().optional(),
});
const attributionSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]));
const readyCommon = {
  status: z.literal('ready'),
  user_id: z.string().min(1, 'must be a non-empty string'),
  teams: z.array(z.string()).optional(),
  team_details: z.array(teamDetailSchema).optional(),
  attribution_metadata: attributionSchema.optional(),
};
const pendingSchema = z.object({ status: z.literal('pending') });
const teamSelectionSchema = z.object({ ...readyCommon, requires_team_selection: z.literal(true) });
const readySchema = z.object({
  ...readyCommon,
  key: z.string().min(1, 'must be a non-empty string'),
  team_id: z.string().nullable().optional(),
  expires_in: z.number().int().positive().optional(),
});

/**
 * Check and read the JSON body of a 200 poll answer.
 * @throws {@link WireFormatError} naming the first field that breaks the contract
 */
export function parsePollAnswer(body: unknown): PollAnswer {
  const status = typeof body === 'object' && body !== null ? (body as { status?: unknown }).status : undefined;
  if (status === 'pending') {
    parseWith(pendingSchema, 'poll answer', body);
    return { status: 'pending' };
  }
  if (status !== 'ready') {
    throw new WireFormatError('poll answer', 'status', 'must be "pending" or "ready"');
  }
  const requiresSelection = (body as { requires_team_selection?: unknown }).requires_team_selection === true;
  if (requiresSelection) {
    const wire = parseWith(teamSelectionSchema, 'poll answer', body);
    return {
      status: 'team_selection',
      userId: wire.user_id,
      teams: wire.teams ?? [],
      teamDetails: toTeamDetails(wire.team_details),
      ...(wire.attribution_metadata ? { attributionMetadata: wire.attribution_metadata } : {}),
    };
  }
  const wire = parseWith(readySchema, 'poll answer', body);
  return {
    status: 'ready',
    key: wire.key,
    userId: wire.user_id,
    teamId: wire.team_id ?? null,
    teams: wire.teams ?? [],
    teamDetails: toTeamDetails(wire.team_details),
    ...(wire.attribution_metadata ? { attributionMetadata: wire.attribution_metadata } : {}),
    ...(wire.expires_in !== undefined ? { expiresInSeconds: wire.expires_in } : {}),
  };
}

function toTeamDetails(wire: z.infer<typeof teamDetailSchema>[] | undefined): TeamDetail[] {
  return (wire ?? []).map((t) => ({ teamId: t.team_id, teamAlias: t.team_alias ?? null }));
}

/** The wire form of a poll answer; `attribution_metadata` only when non-empty (section 5). */
export function serializePollAnswer(answer: PollAnswer): Record<string, unknown> {
  if (answer.status === 'pending') return { status: 'pending' };
  const teamDetails = answer.teamDetails.map((t) => ({ team_id: t.teamId, team_alias: t.teamAlias }));
  const attribution =
    answer.attributionMetadata && Object.keys(answer.attributionMetadata).length > 0
      ? { attribution_metadata: answer.attributionMetadata }
      : {};
  if (answer.status === 'team_selection') {
    return {
      status: 'ready',
      user_id: answer.userId,
      teams: answer.teams,
      team_details: teamDetails,
      requires_team_selection: true,
      ...attribution,
    };
  }
  return {
    status: 'ready',
    key: answer.key,
    user_id: answer.userId,
    team_id: answer.teamId,
    teams: answer.teams,
    team_details: teamDetails,
    ...attribution,
    ...(answer.expiresInSeconds !== undefined ? { expires_in: answer.expiresInSeconds } : {}),
  };
}
