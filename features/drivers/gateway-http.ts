/**
 * The harness speaking the CLI SSO contract itself, over plain HTTP, for the scenarios about
 * protocol rules and attacks (what a CLI would send, and what an attacker could send instead).
 * Answers are returned raw (status, headers, body) so scenarios can check exactly what came back.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { httpCall } from '../../common/http-client.ts';
import { CLI_SSO_PATHS, joinUrl, POLL_SECRET_HEADER } from '../../protocol/cli-sso.ts';

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
  elapsedMs: number;
}

export interface PollRequest {
  loginId: string;
  pollSecret?: string | undefined;
  teamId?: string;
  /** Extra query string, e.g. a secret placed where it must be ignored. */
  query?: Record<string, string>;
  preferWaitSeconds?: number;
  /** More headers, sent as given (a list repeats the header); they replace the ones above. */
  headers?: Record<string, string | string[]>;
}

/** How the harness introduces itself when it plays the CLI. */
const USER_AGENT = 'sso-conformance';

export class GatewayHttp {
  constructor(readonly baseUrl: string) {}

  url(path: string): string {
    return joinUrl(this.baseUrl, path);
  }

  start(): Promise<HttpAnswer> {
    return this.send('POST', CLI_SSO_PATHS.start);
  }

  poll(request: PollRequest): Promise<HttpAnswer> {
    const query = new URLSearchParams(request.query);
    if (request.teamId !== undefined) query.set('team_id', request.teamId);
    const path = `${CLI_SSO_PATHS.poll(request.loginId)}${query.size > 0 ? `?${query}` : ''}`;
    const headers: Record<string, string | string[]> = {};
    if (request.pollSecret !== undefined) headers[POLL_SECRET_HEADER] = request.pollSecret;
    if (request.preferWaitSeconds !== undefined) headers.prefer = `wait=${request.preferWaitSeconds}`;
    return this.send('GET', path, { headers: { ...headers, ...request.headers } });
  }

  complete(loginId: string, fields: Record<string, string>): Promise<HttpAnswer> {
    return this.send('POST', CLI_SSO_PATHS.complete(loginId), {
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }

  models(key: string | undefined, path: string = CLI_SSO_PATHS.models): Promise<HttpAnswer> {
    return this.send('GET', path, { headers: key === undefined ? {} : { authorization: `Bearer ${key}` } });
  }

  userInfo(userId: string, masterKey: string): Promise<HttpAnswer> {
    return this.send('GET', `${CLI_SSO_PATHS.userInfo}?user_id=${encodeURIComponent(userId)}`, {
      headers: { authorization: `Bearer ${masterKey}` },
    });
  }

  /**
   * One request as a CLI sends it (common/http-client.ts): redirects are answers, not followed. A
   * long poll (`Prefer: wait=N`) may take up to 30 s, hence the 40 s deadline.
   */
  async send(
    method: string,
    path: string,
    init: { headers?: Record<string, string | string[]>; body?: string } = {},
  ): Promise<HttpAnswer> {
    const started = Date.now();
    const reply = await httpCall(this.url(path), {
      method,
      headers: { accept: '*/*', 'user-agent': USER_AGENT, ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
      timeoutMs: 40_000,
    });
    return {
      status: reply.status,
      headers: reply.headers,
      text: reply.text,
      json: parseJson(reply.text),
      elapsedMs: Date.now() - started,
    };
  }
}

/** A body parsed as JSON, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
