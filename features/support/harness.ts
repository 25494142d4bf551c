/**
 * Resources shared by every scenario of a run, made once on first use and closed after the run:
 * one browser, one mock IdP, one pool of gateways (each configuration started once).
 * Scenarios reach them only through the world.
 */
import type { Browser } from 'playwright-core';
import type { MockIdp } from '../../mock-idp/index.ts';
import { connectBrowser, ReusedContext } from '../drivers/browser.ts';
import { processRecordDir, recordProcessesIn } from '../drivers/child-process.ts';
import { GatewayPool } from '../drivers/gateway.ts';
import { timings, workerTimingsDir, writeWorkerTimings } from '../drivers/timings.ts';
import type { HarnessParameters } from './parameters.ts';

export interface Harness {
  browser: Browser;
  /** The worker's one browser context, cleared after each scenario that used it (ReusedContext). */
  browsing(): Promise<ReusedContext>;
  idp: MockIdp;
  gateways: GatewayPool;
  /**
   * Environment every gateway gets unless a scenario says otherwise (docs/contract.md section 3).
   */
  defaultGatewayEnv: Record<string, string>;
}

/**
 * The path under which a scenario serves the gateway behind a relay, as a reverse proxy mounting it
 * at `https://host/litellm` does (CLISSO-NATIVE-01), and the IdP client such a gateway signs in
 * with: its callback, `{PROXY_BASE_URL}/sso/callback`, is under that path, and an IdP matches a
 * callback's path exactly. LiteLLM's own test client (the gateways' default) stays as LiteLLM has it.
 */
export const GATEWAY_PATH_PREFIX = '/litellm';
export const UNDER_PATH_CLIENT_ID = 'litellm-cli-test-under-path';
/**
 * The harness IdP's client that authenticates at the token endpoint with its id and secret in the
 * form body (client_secret_post): a gateway with GENERIC_INCLUDE_CLIENT_ID=true (CLISSO-CALLBACK-09).
 */
export const SECRET_IN_BODY_CLIENT_ID = 'litellm-cli-test-secret-in-body';

let shared: Promise<Harness> | undefined;
/** Where this process writes its timings when the run ends (the run's scratch folder). */
let timingsDir: string | undefined;

export function harness(parameters: HarnessParameters): Promise<Harness> {
  timingsDir ??= workerTimingsDir(parameters.workDir);
  shared ??= timings.time('harness opened (mock IdP started, browser connected)', () => openHarness(parameters));
  return shared;
}

export async function closeHarness(): Promise<void> {
  if (!shared) return;
  const h = await shared.catch(() => undefined);
  shared = undefined;
  if (!h) return;
  await timings.time('harness closed (gateways stopped)', async () => {
    await h.gateways.stopAll();
    await h.idp.close();
    await h.browser.close();
  });
  if (timingsDir) await writeWorkerTimings(timingsDir);
}

async function openHarness(parameters: HarnessParameters): Promise<Harness> {
  recordProcessesIn(processRecordDir(parameters.workDir));
  const [browser, idp] = await Promise.all([connectBrowser(parameters.browserEndpoint), startHarnessIdp(parameters)]);
  const log = (line: string) => {
    if (parameters.verbose) console.error(`  [harness] ${line}`);
  };
  const gateways = new GatewayPool({
    target: parameters.gateway,
    workDir: parameters.workDir,
    baseEnv: { ...parameters.baseEnv, ...parameters.gatewayEnv },
    models: parameters.models,
    faketimeLibrary: parameters.faketimeLibrary,
    startTimeoutMs: parameters.gatewayStartTimeoutMs,
    maxAlive: parameters.maxGateways,
    log,
  });
  const idpUrl = idp.url.replace(/\/+$/, '');
  const defaultGatewayEnv: Record<string, string> = {
    LITELLM_MASTER_KEY: parameters.masterKey,
    EXPERIMENTAL_UI_LOGIN: 'True',
    GENERIC_CLIENT_ID: 'litellm-cli-test',
    GENERIC_CLIENT_SECRET: 'litellm-cli-test-secret',
    GENERIC_AUTHORIZATION_ENDPOINT: `${idpUrl}/authorize`,
    GENERIC_TOKEN_ENDPOINT: `${idpUrl}/token`,
    GENERIC_USERINFO_ENDPOINT: `${idpUrl}/userinfo`,
    GENERIC_USER_EXTRA_ATTRIBUTES: 'employment_type,org_info.department',
    CLI_SSO_CLAIM_MAP: 'employment_type->acme_employment_type,org_info.department->department',
    // The reference gateway follows the profile the run judges; another gateway ignores it (its
    // user names the profile it speaks with --profile).
    CLI_SSO_CONTRACT_PROFILE: parameters.profile,
    // The reference gateway's admission control is a reference choice measured by `npm run load`,
    // not a rule of the contract: scenarios start up to 30 logins from one address and leave them
    // unfinished (CLISSO-START-09 expects the 31st to meet the per-IP limit's 429), and a worker's
    // gateway serves scenario after scenario. No scenario may meet a 503 for overload.
    CLI_SSO_MAX_LOGINS_IN_FLIGHT: '0',
  };
  let browsing: Promise<ReusedContext> | undefined;
  const reusedContext = async () => {
    const current = await browsing?.catch(() => undefined);
    // A context that was closed under the harness (the browser went away) is opened again.
    if (!current?.usable) browsing = ReusedContext.open(browser);
    return browsing as Promise<ReusedContext>;
  };
  return { browser, browsing: reusedContext, idp, gateways, defaultGatewayEnv };
}

/**
 * The mock IdP (oidc-provider, koa and their dependencies) is loaded when a worker opens its
 * harness, not when the support code is loaded: Cucumber's coordinating process loads the support
 * code too, only to read the step definitions, before any worker can start.
 */
async function startHarnessIdp(parameters: HarnessParameters): Promise<MockIdp> {
  const { startMockIdp, defaultClient } = await import('../../mock-idp/index.ts');
  const underPath = defaultClient({ clientId: UNDER_PATH_CLIENT_ID });
  underPath.redirectUris = underPath.redirectUris.map((uri) => uri.replace('/sso/', `${GATEWAY_PATH_PREFIX}/sso/`));
  const secretInBody = {
    ...defaultClient({ clientId: SECRET_IN_BODY_CLIENT_ID }),
    authMethod: 'client_secret_post' as const,
  };
  return startMockIdp({
    host: parameters.idpHost,
    port: parameters.idpPort,
    clients: [defaultClient(), underPath, secretInBody],
  });
}
