/**
 * Recognising the CLI SSO steps (docs/contract.md section 2) in a relayed request, and reading what
 * the faults need to remember from the start answer. Wire answers are parsed with protocol/ (zod).
 */
import { CLI_SOURCE, CLI_SSO_PATHS, parseStartAnswer, type StartAnswer } from '../../../protocol/cli-sso.ts';
import { type Exchange, jsonOf } from '../relay.ts';

const POLL_PREFIX = `${CLI_SSO_PATHS.poll('')}`;
const COMPLETE_PREFIX = `${CLI_SSO_PATHS.complete('')}`;

export function isStart(exchange: Exchange): boolean {
  return exchange.req.method === 'POST' && exchange.path === CLI_SSO_PATHS.start;
}

/** The login id of `GET /sso/cli/poll/{login_id}`, or undefined for any other request. */
export function pollLoginId(exchange: Exchange): string | undefined {
  return exchange.req.method === 'GET' ? idAfter(exchange.path, POLL_PREFIX) : undefined;
}

/** The login id of `POST /sso/cli/complete/{login_id}`, or undefined for any other request. */
export function completeLoginId(exchange: Exchange): string | undefined {
  return exchange.req.method === 'POST' ? idAfter(exchange.path, COMPLETE_PREFIX) : undefined;
}

/** True for the browser entry of a CLI login: `GET /sso/key/generate?source=litellm-cli`. */
export function isCliBrowserEntry(exchange: Exchange): boolean {
  return (
    exchange.req.method === 'GET' &&
    exchange.path === CLI_SSO_PATHS.browserEntry &&
    exchange.query.get('source') === CLI_SOURCE
  );
}

export function isModelsCall(exchange: Exchange): boolean {
  return (
    exchange.req.method === 'GET' &&
    (exchange.path === CLI_SSO_PATHS.models || exchange.path === CLI_SSO_PATHS.v1Models)
  );
}

export function isUserInfo(exchange: Exchange): boolean {
  return exchange.req.method === 'GET' && exchange.path === CLI_SSO_PATHS.userInfo;
}

/** The bearer token of the request, if any. */
export function bearerOf(exchange: Exchange): string | undefined {
  const header = exchange.req.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/**
 * Relay `POST /sso/cli/start` and hand back what the gateway answered, so a fault can remember the
 * flow's poll secret and user code (a real gateway keeps only their hashes; the broken one does not).
 */
export async function relayStart(exchange: Exchange): Promise<StartAnswer | undefined> {
  const answer = await exchange.fetch();
  exchange.reply(answer);
  if (answer.status !== 200) return undefined;
  try {
    return parseStartAnswer(jsonOf(answer));
  } catch {
    return undefined;
  }
}

function idAfter(path: string, prefix: string): string | undefined {
  if (!path.startsWith(prefix) || path.length === prefix.length) return undefined;
  const raw = path.slice(prefix.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
