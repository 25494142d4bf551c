/**
 * The CLI session registry as an admin and a CLI meet it on the wire (docs/contract.md section 10.7):
 * list the sessions, revoke one. Every check reads answers only, so any gateway can be judged; a
 * gateway that answers 404 to the list for its master key has no registry, and the scenario is
 * skipped with that reason.
 */
import assert from 'node:assert/strict';
import { z } from 'zod';
import { CLI_SESSION_PATHS } from '../../protocol/cli-sessions.ts';
import type { RunningGateway } from '../drivers/gateway.ts';
import type { HttpAnswer } from '../drivers/gateway-http.ts';
import type { ListedSession } from '../support/scenario-state.ts';
import { ConfigurationNotOffered } from '../support/skip-reason.ts';
import type { ConformanceWorld } from '../support/world.ts';

const sessionSchema = z
  .object({
    session_id: z.string().min(1),
    user_id: z.string(),
    team_id: z.string().nullable(),
    revoked_at: z.string().nullable(),
  })
  .passthrough();
const listSchema = z.object({ sessions: z.array(sessionSchema), total_count: z.number().int().nonnegative() });

/** The largest page a gateway must serve. */
const PAGE_SIZE = 100;

async function gatewayOf(world: ConformanceWorld, replica?: RunningGateway): Promise<RunningGateway> {
  return replica ?? (await world.gateway());
}

export async function masterKeyOf(world: ConformanceWorld, replica?: RunningGateway): Promise<string> {
  const masterKey = (await gatewayOf(world, replica)).env.LITELLM_MASTER_KEY;
  assert.ok(masterKey, 'the gateway has no declared LITELLM_MASTER_KEY');
  return masterKey;
}

/** GET /cli/session/list with `key` (none: no Authorization header). */
export async function listSessions(
  world: ConformanceWorld,
  key: string | undefined,
  replica?: RunningGateway,
  page = 1,
  pageSize = PAGE_SIZE,
): Promise<HttpAnswer> {
  const http = await world.http(replica);
  return http.send('GET', `${CLI_SESSION_PATHS.list}?page=${page}&page_size=${pageSize}`, {
    headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
  });
}

/** POST /cli/session/{id}/revoke with `key`. */
export async function revokeSession(
  world: ConformanceWorld,
  key: string,
  sessionId: string,
  replica?: RunningGateway,
): Promise<HttpAnswer> {
  const http = await world.http(replica);
  return http.send('POST', CLI_SESSION_PATHS.revoke(sessionId), { headers: { authorization: `Bearer ${key}` } });
}

/** Skip the scenario when the gateway has no registry (404 to its own master key). */
export async function expectRegistry(world: ConformanceWorld, replica?: RunningGateway): Promise<void> {
  const answer = await listSessions(world, await masterKeyOf(world, replica), replica);
  if (answer.status === 404)
    throw new ConfigurationNotOffered(
      `keeps no CLI session registry (GET ${CLI_SESSION_PATHS.list} answered 404 to the master key: the classic v3 contract only)`,
    );
}

/** Every unexpired session, all pages, as the master key sees them. */
export async function allSessions(world: ConformanceWorld, replica?: RunningGateway): Promise<ListedSession[]> {
  const masterKey = await masterKeyOf(world, replica);
  const sessions: ListedSession[] = [];
  for (let page = 1; ; page++) {
    const listed = listedPage(await listSessions(world, masterKey, replica, page));
    sessions.push(...(listed.sessions as ListedSession[]));
    if (listed.sessions.length < PAGE_SIZE || sessions.length >= listed.total_count) return sessions;
  }
}

/** A page of the list answered 200 in the list's shape, or an assertion naming what came instead. */
function listedPage(answer: Awaited<ReturnType<typeof listSessions>>) {
  assert.equal(
    answer.status,
    200,
    `GET ${CLI_SESSION_PATHS.list} answered ${answer.status}: ${answer.text.slice(0, 300)}`,
  );
  const parsed = listSchema.safeParse(answer.json);
  assert.ok(
    parsed.success,
    `the session list is not {"sessions": [...], "total_count": n}: ${answer.text.slice(0, 300)}`,
  );
  return parsed.data;
}

/** One page of the list as the master key sees it: its sessions' ids and its total_count. */
async function pageOf(
  world: ConformanceWorld,
  page: number,
  pageSize: number,
): Promise<{ ids: string[]; totalCount: number }> {
  const listed = listedPage(await listSessions(world, await masterKeyOf(world), undefined, page, pageSize));
  return { ids: listed.sessions.map((s) => s.session_id), totalCount: listed.total_count };
}

/** How long the harness tries for a list that no other login changed while it was read page by page. */
const STEADY_LIST_DEADLINE_MS = 10_000;

/**
 * The whole list, and each page of `pageSize` sessions, read while the list stayed the same (other
 * scenarios may log in on a shared gateway meanwhile: the reading is tried again then, until a
 * deadline). Each page must be its part of the whole list, and carry the whole list's count.
 */
export async function pagesOfTheList(
  world: ConformanceWorld,
  pageSize: number,
): Promise<{ all: string[]; pages: Array<{ ids: string[]; totalCount: number }> }> {
  const deadline = Date.now() + STEADY_LIST_DEADLINE_MS;
  for (;;) {
    const all = (await allSessions(world)).map((s) => s.session_id);
    const pages = [];
    for (let page = 1; page <= Math.floor(all.length / pageSize) + 1; page++)
      pages.push(await pageOf(world, page, pageSize));
    const after = (await allSessions(world)).map((s) => s.session_id);
    if (after.join() === all.join() || Date.now() > deadline) {
      assert.deepEqual(after, all, 'the session list kept changing while it was read page by page');
      return { all, pages };
    }
  }
}

/** Remember which sessions exist before the scenario's login. */
export async function noteSessions(world: ConformanceWorld, replica?: RunningGateway): Promise<void> {
  world.state.sessionsBefore = new Set((await allSessions(world, replica)).map((s) => s.session_id));
}

/** The one session that appeared since {@link noteSessions}: the login's. */
export async function findLoginSession(world: ConformanceWorld, replica?: RunningGateway): Promise<ListedSession> {
  const before = world.state.sessionsBefore;
  assert.ok(before, 'the sessions before the login were not noted');
  const fresh = (await allSessions(world, replica)).filter((s) => !before.has(s.session_id));
  assert.equal(
    fresh.length,
    1,
    `expected the login's one new session in the list, found ${fresh.length}: ${JSON.stringify(fresh).slice(0, 400)}`,
  );
  const session = fresh[0] as ListedSession;
  world.state.loginSession = session;
  return session;
}

export function loginSessionOf(world: ConformanceWorld): ListedSession {
  const session = world.state.loginSession;
  assert.ok(session, "the login's session was not found in the list");
  return session;
}

/** A revocation's answer: 200 with the session, revoked. */
export function expectRevoked(answer: HttpAnswer, sessionId: string): ListedSession {
  assert.equal(answer.status, 200, `the revocation answered ${answer.status}: ${answer.text.slice(0, 300)}`);
  const parsed = sessionSchema.safeParse(answer.json);
  assert.ok(parsed.success, `the revocation's answer is not the session: ${answer.text.slice(0, 300)}`);
  assert.equal(parsed.data.session_id, sessionId, 'the revocation answered with another session');
  assert.ok(parsed.data.revoked_at, `the session is not marked revoked: ${answer.text.slice(0, 300)}`);
  return parsed.data as ListedSession;
}
