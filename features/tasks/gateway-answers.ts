/**
 * Reading what a gateway answered, as docs/contract.md section 2 shapes it: one zod schema per wire
 * answer (the error bodies of the CLI SSO endpoints and of the API routes, the model list, the poll
 * answer that hands out a key), each checked in one place with messages that name the field and the
 * rule. These are the contract's strict shapes, for verdicts; protocol/cli-sso.ts parses the same
 * answers leniently, as a CLI must read them.
 */
import assert from 'node:assert/strict';
import { z } from 'zod';
import { redact } from '../../protocol/redact.ts';
import type { HttpAnswer } from '../drivers/gateway-http.ts';

/** `"a"`, `"data[0].id"`: where in the body an issue is. */
function fieldOf(path: readonly PropertyKey[]): string {
  return `"${path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('')}"`;
}

/**
 * `body` parsed by `schema`; otherwise fails with every issue, each as `<subject>: "<field>" <rule>`,
 * followed by what came back (`shown`).
 */
export function expectShape<T>(schema: z.ZodType<T>, body: unknown, subject: string, shown: string): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues.map((issue) =>
    issue.path.length === 0 ? `${subject} ${issue.message}` : `${subject}: ${fieldOf(issue.path)} ${issue.message}`,
  );
  assert.fail(`${issues.join('; ')}: ${shown}`);
}

const nonEmptyString = (rule = 'should be a non-empty string') =>
  z.string({ error: rule }).refine((s) => s.trim().length > 0, rule);

// ---- Error bodies --------------------------------------------------------------------------------

/** A CLI SSO endpoint's error body (docs/contract.md section 2, "Error bodies"): FastAPI's `{"detail": "<message>"}`. */
const detailBodySchema = z.object({ detail: nonEmptyString() });

/** The message of a CLI SSO error body; undefined when the body is anything else. */
export function detailMessageOf(body: unknown): string | undefined {
  const parsed = detailBodySchema.safeParse(body);
  return parsed.success ? parsed.data.detail : undefined;
}

/**
 * A CLI SSO endpoint refused a request with exactly `status`, and a 4xx has the contract's
 * `{"detail": "<message>"}` body (docs/contract.md section 2, "Error bodies") wherever the suite
 * looks at one: a refusal checked by its status alone would let one endpoint's empty or malformed
 * error body through. `where` names the request in the message.
 */
export function expectRefusal(answer: HttpAnswer, status: number, where: string): void {
  assert.equal(
    answer.status,
    status,
    `${where} answered ${answer.status} where ${status} was expected: ${answer.text.slice(0, 300)}`,
  );
  if (status >= 400 && status < 500) {
    assert.ok(
      detailMessageOf(answer.json) !== undefined,
      `${where}: the ${status} answer is not JSON {"detail": "<message>"} with a non-empty string: ${answer.text.slice(0, 300)}`,
    );
  }
}

/** An API route's error body, LiteLLM's `{"error": {"message", "type", "param", "code"}}` (docs/contract.md section 2, GET /models). */
const apiErrorBodySchema = z.object(
  {
    error: z.object(
      {
        message: nonEmptyString('should be a non-empty string'),
        type: z.string({ error: 'should be a string' }).min(1, 'should be a non-empty string'),
        code: z.unknown(),
      },
      { error: 'should be an object' },
    ),
  },
  { error: 'is not an {"error": {...}} body' },
);

/** The `error` object of an API route's error body. */
export type ApiError = z.infer<typeof apiErrorBodySchema>['error'];

/** An API route's error body; fails naming what came back. */
export function expectApiError(answer: HttpAnswer, where: string): ApiError {
  const subject = `the ${answer.status} answer of ${where}`;
  const shown = answer.text.slice(0, 300);
  const { error } = expectShape(apiErrorBodySchema, answer.json, subject, shown);
  // LiteLLM's error bodies repeat the status as error.code ("401", or 401); a body that carries a
  // code must not contradict the status it came with.
  assert.ok(
    error.code === undefined || error.code === null || String(error.code) === String(answer.status),
    `${subject} says error.code ${JSON.stringify(error.code)}: ${shown}`,
  );
  return error;
}

/** An expired CLI key's refusal at an API route: 400, LiteLLM's error body, `expired_key`, code "400". */
export function expectExpiredKeyRefusal(answer: HttpAnswer, where: string): void {
  assert.equal(answer.status, 400, `an expired key got ${answer.status} at ${where}: ${answer.text.slice(0, 300)}`);
  const error = expectApiError(answer, where);
  assert.equal(
    error.type,
    'expired_key',
    `${where} answered error.type ${JSON.stringify(error.type)}, expected "expired_key"`,
  );
  assert.ok(
    error.code === '400' || error.code === 400,
    `${where} answered error.code ${JSON.stringify(error.code)}, expected "400"`,
  );
}

// ---- GET /models ---------------------------------------------------------------------------------

/**
 * The model list (docs/contract.md section 2, GET /models): `{"object": "list", "data": [...]}`,
 * each entry with a string `id`, `object` "model", a numeric `created` and a string `owned_by`.
 */
const modelListSchema = z.object(
  {
    object: z.literal('list', { error: 'should be "list"' }),
    data: z.array(
      z.object(
        {
          id: z.string({ error: 'should be a string' }).min(1, 'should be a non-empty string'),
          object: z.literal('model', { error: 'should be "model"' }),
          created: z.number({ error: 'should be a number' }),
          owned_by: z.string({ error: 'should be a string' }),
        },
        { error: 'should be an object' },
      ),
      { error: 'should be a list' },
    ),
  },
  { error: 'is not a JSON object' },
);

/** The model list, with the `names` (comma-separated) all listed; returns the listed ids. */
export function expectModelList(answer: HttpAnswer, where: string, names: string): string[] {
  assert.equal(answer.status, 200, `${where} answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  const list = expectShape(modelListSchema, answer.json, where, answer.text.slice(0, 300));
  const ids = list.data.map((entry) => entry.id);
  for (const name of names.split(',').map((n) => n.trim()))
    assert.ok(ids.includes(name), `${where} does not list ${name}; it lists ${ids.join(', ') || 'nothing'}`);
  return ids;
}

// ---- GET /sso/cli/poll/{login_id} ----------------------------------------------------------------

/** Whether an answer's body holds a `key` field at all (whatever its value): a refused or pending answer must not. */
export function holdsKey(body: unknown): boolean {
  return typeof body === 'object' && body !== null && 'key' in body;
}

/** A poll answer that hands out a key: `"status": "ready"` and a non-empty string `key`. */
const handsOutKeySchema = z.looseObject({ status: z.literal('ready'), key: z.string().min(1) });

/** The key a 200 poll answer hands out; undefined when it hands out none. */
export function keyHandedOutBy(answer: Pick<HttpAnswer, 'status' | 'json'>): string | undefined {
  if (answer.status !== 200) return undefined;
  const parsed = handsOutKeySchema.safeParse(answer.json);
  return parsed.success ? parsed.data.key : undefined;
}

/** A poll answer's `team_details` on the wire: each entry `{team_id, team_alias}`, the alias a string or null. */
const wireTeamDetailsSchema = z.array(
  z.object(
    {
      team_id: z.string({ error: 'should be a string' }),
      team_alias: z.string({ error: 'should be present, a string or null' }).nullable(),
    },
    { error: 'should be {team_id, team_alias}' },
  ),
  { error: 'should be an array' },
);

/**
 * The ready answer as it is on the wire, field by field (docs/contract.md section 2, poll, rule 6),
 * without the lenient parser: `key` a non-empty string, `user_id` a string, `team_id` present (the
 * chosen team, the only team, or null for a user without a team), `teams` an array, `team_details`
 * an array of {team_id, team_alias}, and no request to choose a team.
 */
const wireReadySchema = z.object(
  {
    status: z.literal('ready', { error: 'should be "ready"' }),
    key: z.string({ error: 'should be a non-empty string' }).min(1, 'should be a non-empty string'),
    user_id: z.string({ error: 'should be a string' }),
    team_id: z.string({ error: 'should be present: the team, or null when the user has no team' }).nullable(),
    teams: z.array(z.string(), { error: 'should be an array' }),
    team_details: wireTeamDetailsSchema,
    requires_team_selection: z
      .unknown()
      .refine((value) => value !== true, 'should not be true in the answer with a key (it asks for a team)')
      .optional(),
  },
  { error: 'is not a JSON object' },
);

export type WireReady = z.infer<typeof wireReadySchema>;

const teamQuestionSchema = z.looseObject({ team_details: wireTeamDetailsSchema });

/** The team question's `team_details` (poll step 4): each entry `{team_id, team_alias}`, the alias a string or null. */
export function expectTeamDetailsWithAliases(answer: HttpAnswer): void {
  const shown = JSON.stringify(redact(answer.json ?? answer.text.slice(0, 100)));
  expectShape(teamQuestionSchema, answer.json, `the ${answer.status} team question`, shown);
}

/** The last answer as the contract's ready answer, with the user and teams expected; fails naming each field that is wrong. */
export function expectWireReady(
  answer: HttpAnswer,
  expected: { userId: string; teamId: string | null; teams: readonly string[] },
): WireReady {
  const shown = JSON.stringify(redact(answer.json ?? answer.text.slice(0, 100)));
  const wire = expectShape(wireReadySchema, answer.json, `the ${answer.status} ready answer`, shown);
  const sorted = (values: readonly string[]) => [...values].sort();
  assert.equal(
    wire.user_id,
    expected.userId,
    `the ready answer's "user_id" should be ${JSON.stringify(expected.userId)}: ${shown}`,
  );
  assert.equal(
    wire.team_id,
    expected.teamId,
    `the ready answer's "team_id" should be ${JSON.stringify(expected.teamId)}: ${shown}`,
  );
  assert.deepEqual(
    sorted(wire.teams),
    sorted(expected.teams),
    `the ready answer's "teams" should be ${JSON.stringify(expected.teams)}: ${shown}`,
  );
  assert.deepEqual(
    sorted(wire.team_details.map((t) => t.team_id)),
    sorted(expected.teams),
    `the ready answer's "team_details" should be for the teams ${JSON.stringify(expected.teams)}: ${shown}`,
  );
  return wire;
}
