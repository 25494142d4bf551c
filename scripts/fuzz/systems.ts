/**
 * The servers under fuzz, all real and in this process on random ports: three reference gateways
 * (configured differently, so more of their code is reachable), the mock IdPs behind them and under
 * fuzz themselves, and a scripted IdP that answers what the fuzzer wants. Each server's log lines go
 * to a LogCapture; every secret they are configured with goes into the SecretBook.
 *
 * Started lazily (a run of one endpoint starts only what it needs) and restartable: after a failing
 * input the touched servers are replaced, so the next input (and every shrinking step) meets a
 * fresh server and a reproducer does not depend on what came before.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../../common/logger.ts';
import {
  builtInCast,
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  defaultClient,
  type MockIdp,
  startMockIdp,
} from '../../mock-idp/index.ts';
import { loadProxyConfig, type RunningProxy, startReferenceProxy } from '../../reference-proxy/index.ts';
import { ScriptedIdp } from './scripted-idp.ts';
import { LogCapture, SecretBook } from './secrets.ts';

export type GatewayName = 'A' | 'B' | 'C';

export interface Gateway {
  name: GatewayName;
  url: URL;
  masterKey: string;
  signingSecret: string;
  /** CLI keys are accepted at the API routes (EXPERIMENTAL_UI_LOGIN). */
  acceptsCliKeys: boolean;
  /** Bumped on every restart: fixtures made before belong to a server that is gone. */
  generation: number;
}

export const PKCE_CLIENT_ID = 'fuzz-pkce-client';
export const CONTROL_USERS = ['alice', 'bob', 'carol', 'mallory', 'cli-test-user'];

const MODELS_YAML = `model_list:
  - model_name: gpt-4o
    litellm_params: { model: openai/gpt-4o }
  - model_name: claude-sonnet
    litellm_params: { model: anthropic/claude-sonnet-4 }
  - model_name: gpt-4o
    litellm_params: { model: azure/gpt-4o }
teams:
  - team_id: team-alpha
    team_alias: Alpha Team
    models: [gpt-4o]
  - team_id: team-beta
    team_alias: Beta Team
`;

function secretToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

interface Running<T> {
  value: T;
  close(): Promise<void>;
}

export class Systems {
  readonly book = new SecretBook();
  readonly logs = new Map<string, LogCapture>();
  private readonly running = new Map<string, Running<unknown>>();
  private readonly starting = new Map<string, Promise<unknown>>();
  private readonly generations = new Map<string, number>();
  private dir: string | undefined;
  /** Per-run secrets, fixed across restarts so reproducers keep their meaning. */
  readonly controlToken = secretToken();
  readonly pkceClientSecret = `fuzz-pkce-secret-${secretToken(16)}`;
  private readonly masterKeys: Record<GatewayName, string> = {
    A: `sk-fuzz-a-${secretToken(24)}`,
    B: `sk-fuzz-b-${secretToken(24)}`,
    C: `sk-fuzz-c-${secretToken(24)}`,
  };
  private readonly saltKeys: Record<GatewayName, string | undefined> = {
    A: secretToken(36),
    B: undefined,
    C: secretToken(36),
  };

  constructor() {
    for (const name of ['A', 'B', 'C'] as const) {
      this.book.add(this.masterKeys[name], 'master key');
      this.book.add(this.saltKeys[name], 'signing secret');
    }
    // LiteLLM's well-known test secret starts with the client id: only the whole of it is a leak.
    this.book.add(DEFAULT_CLIENT_SECRET, 'client secret', { pieces: false });
    this.book.add(this.pkceClientSecret, 'client secret');
    this.book.add(this.controlToken, 'control token');
    this.book.add('carol-password', 'password', { pieces: false });
  }

  capture(name: string): LogCapture {
    let capture = this.logs.get(name);
    if (!capture) {
      capture = new LogCapture(name);
      this.logs.set(name, capture);
    }
    return capture;
  }

  private async once<T>(key: string, start: () => Promise<Running<T>>): Promise<T> {
    const live = this.running.get(key);
    if (live) return live.value as T;
    let pending = this.starting.get(key) as Promise<T> | undefined;
    if (!pending) {
      pending = start().then((r) => {
        this.running.set(key, r);
        this.starting.delete(key);
        this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
        return r.value;
      });
      this.starting.set(key, pending);
    }
    return pending;
  }

  /** A helper the fuzzer starts once and stops with the servers (e.g. the users file child). */
  shared<T>(key: string, start: () => Promise<{ value: T; close(): Promise<void> }>): Promise<T> {
    return this.once(key, start);
  }

  generation(key: string): number {
    return this.generations.get(key) ?? 0;
  }

  /** Stop a server; the next use starts a fresh one. */
  async restart(key: string): Promise<void> {
    const live = this.running.get(key);
    this.running.delete(key);
    await live?.close();
  }

  private logger(name: string) {
    return createLogger({ sink: this.capture(name).sink, component: name, level: 'debug' });
  }

  private async tempDir(): Promise<string> {
    this.dir ??= await mkdtemp(join(tmpdir(), 'fuzz-'));
    return this.dir;
  }

  /** The mock IdP behind gateways A and B (auto-login set per login by the fuzzer). */
  gatewayIdp(): Promise<MockIdp> {
    return this.once('idp-gateway', async () => {
      const idp = await startMockIdp({
        port: 0,
        logger: this.logger('idp-gateway'),
        users: [
          ...builtInCast(),
          {
            username: 'dave',
            claims: {
              sub: 'dave',
              preferred_username: 'dave',
              email: 'dave@example.com',
              email_verified: true,
              role: 'proxy_admin',
              teams: ['team-alpha', 'team-beta', 'team-gamma', 'team-delta'],
            },
          },
        ],
        clients: [
          defaultClient(),
          {
            clientId: PKCE_CLIENT_ID,
            clientSecret: this.pkceClientSecret,
            redirectUris: ['http://127.0.0.1:4000/sso/callback'],
            authMethod: 'client_secret_post',
            requirePkce: true,
          },
        ],
      });
      return { value: idp, close: () => idp.close() };
    });
  }

  /** A mock IdP of its own for fuzzing the OpenID endpoints and the sign-in pages. */
  oidcIdp(): Promise<MockIdp> {
    return this.once('idp-oidc', async () => {
      const idp = await startMockIdp({ port: 0, logger: this.logger('idp-oidc') });
      return { value: idp, close: () => idp.close() };
    });
  }

  /** A mock IdP of its own for fuzzing the control API (it changes users, faults, keys...). */
  controlIdp(): Promise<MockIdp> {
    return this.once('idp-control', async () => {
      const idp = await startMockIdp({
        port: 0,
        logger: this.logger('idp-control'),
        controlToken: this.controlToken,
      });
      return { value: idp, close: () => idp.close() };
    });
  }

  scriptedIdp(): Promise<ScriptedIdp> {
    return this.once('idp-scripted', async () => {
      const idp = await ScriptedIdp.start();
      idp.onSecret = (value, kind) => this.book.add(value, kind);
      return { value: idp, close: () => idp.close() };
    });
  }

  gateway(name: GatewayName): Promise<Gateway> {
    const key = `gateway-${name}`;
    return this.once(key, async () => {
      const env = await this.gatewayEnv(name);
      const config = loadProxyConfig(env, { host: '127.0.0.1', port: 0 });
      const proxy: RunningProxy = await startReferenceProxy(config, { logSink: this.capture(key).sink });
      const gateway: Gateway = {
        name,
        url: new URL(proxy.url),
        masterKey: this.masterKeys[name],
        signingSecret: this.saltKeys[name] ?? this.masterKeys[name],
        acceptsCliKeys: env['EXPERIMENTAL_UI_LOGIN'] === 'true',
        generation: this.generation(key) + 1,
      };
      return { value: gateway, close: () => proxy.close() };
    });
  }

  private async gatewayEnv(name: GatewayName): Promise<Record<string, string>> {
    const modelsFile = join(await this.tempDir(), 'models.yaml');
    await writeFile(modelsFile, MODELS_YAML);
    const common: Record<string, string> = {
      LITELLM_MASTER_KEY: this.masterKeys[name],
      REFERENCE_PROXY_SQLITE_PATH: ':memory:',
      LOG_LEVEL: 'debug',
      CONFIG_FILE_PATH: modelsFile,
      // Thousands of starts in seconds would be refused by admission control (503, by design: the
      // load script judges that); the fuzzer judges how each input is answered, so no bound here.
      CLI_SSO_MAX_LOGINS_IN_FLIGHT: '0',
    };
    const salt = this.saltKeys[name];
    if (salt) common['LITELLM_SALT_KEY'] = salt;
    if (name === 'C') {
      const idp = await this.scriptedIdp();
      return {
        ...common,
        EXPERIMENTAL_UI_LOGIN: 'true',
        GENERIC_CLIENT_ID: 'scripted-client',
        GENERIC_CLIENT_SECRET: DEFAULT_CLIENT_SECRET,
        GENERIC_AUTHORIZATION_ENDPOINT: idp.endpoints.authorization,
        GENERIC_TOKEN_ENDPOINT: idp.endpoints.token,
        GENERIC_USERINFO_ENDPOINT: idp.endpoints.userinfo,
        GENERIC_USER_TEAMS_ATTRIBUTE: 'groups',
        GENERIC_USER_ROLE_ATTRIBUTE: 'app.role',
        GENERIC_USER_FIRST_NAME_ATTRIBUTE: 'given_name',
        GENERIC_USER_LAST_NAME_ATTRIBUTE: 'family_name',
        ALLOWED_EMAIL_DOMAINS: 'example.com,kiwi.example',
        GENERIC_USER_EXTRA_ATTRIBUTES: 'department,org\\.unit.name,nested.deep.value,__proto__,employee_number,groups',
        CLI_SSO_CLAIM_MAP:
          'department->department,org\\.unit.name->org_unit,nested.deep.value->deep,__proto__->proto,employee_number->employee.number,groups->groups',
      };
    }
    const idp = await this.gatewayIdp();
    const endpoints = {
      GENERIC_AUTHORIZATION_ENDPOINT: idp.endpoints.authorization,
      GENERIC_TOKEN_ENDPOINT: idp.endpoints.token,
      GENERIC_USERINFO_ENDPOINT: idp.endpoints.userinfo,
    };
    if (name === 'A') {
      return {
        ...common,
        ...endpoints,
        EXPERIMENTAL_UI_LOGIN: 'true',
        GENERIC_CLIENT_ID: DEFAULT_CLIENT_ID,
        GENERIC_CLIENT_SECRET: DEFAULT_CLIENT_SECRET,
        GENERIC_USER_EXTRA_ATTRIBUTES: 'employment_type,org_info.department,session_jwt,api_key,long_1025,badge_list',
        CLI_SSO_CLAIM_MAP:
          'employment_type->acme_employment_type,org_info.department->department,session_jwt->jwt,api_key->key_copy,long_1025->long,badge_list->badges',
      };
    }
    return {
      ...common,
      ...endpoints,
      EXPERIMENTAL_UI_LOGIN: 'false',
      LITELLM_UI_SESSION_DURATION: '30m',
      GENERIC_CLIENT_ID: PKCE_CLIENT_ID,
      GENERIC_CLIENT_SECRET: this.pkceClientSecret,
      GENERIC_CLIENT_USE_PKCE: 'true',
      GENERIC_INCLUDE_CLIENT_ID: 'true',
      GENERIC_USER_ID_ATTRIBUTE: 'sub',
      ALLOWED_EMAIL_DOMAINS: 'example.com',
    };
  }

  private readonly journalSeen = new Map<MockIdp, number>();

  /**
   * The journal entries each running mock IdP recorded since the last call, as JSON lines: the
   * journal is a log too (the control API serves it), so it is scanned for secrets like the logs.
   */
  takeJournals(): Array<{ source: string; lines: string[] }> {
    const out: Array<{ source: string; lines: string[] }> = [];
    for (const [key, live] of this.running) {
      if (!key.startsWith('idp-') || key === 'idp-scripted') continue;
      const idp = live.value as MockIdp;
      const last = idp.journal.lastSeq();
      const since = this.journalSeen.get(idp) ?? 0;
      if (last === since) continue;
      this.journalSeen.set(idp, last);
      // A reset clears the journal but keeps counting: entries after `since` are the new ones.
      const lines = idp.journal.query({ since }).map((entry) => JSON.stringify(entry));
      if (lines.length > 0) out.push({ source: `${key} journal`, lines });
    }
    return out;
  }

  /** Every server that is running now, by name, with its base URL and health path. */
  healthTargets(): Array<{ name: string; url: URL; path: string }> {
    const out: Array<{ name: string; url: URL; path: string }> = [];
    for (const [key, live] of this.running) {
      const value = live.value;
      if (key.startsWith('gateway-')) out.push({ name: key, url: (value as Gateway).url, path: '/health/liveliness' });
      else if (key.startsWith('idp-') && key !== 'idp-scripted') {
        out.push({ name: key, url: new URL((value as MockIdp).url), path: '/health' });
      }
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.running.values()].map((r) => r.close()));
    this.running.clear();
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}
