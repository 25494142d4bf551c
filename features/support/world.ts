/**
 * One world per scenario (architecture.md, convention 7): its own HOME, browser pages (in its
 * worker's browser context, which holds nothing from an earlier scenario: ReusedContext), CLI
 * session and wire tap, and the gateway configuration the scenario asked for.
 */
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { type IWorldOptions, setWorldConstructor, World } from '@cucumber/cucumber';
import type { Pickle } from '@cucumber/messages';
import type { BrowserContext, Page } from 'playwright-core';
import type { StartAnswer } from '../../protocol/cli-sso.ts';
import type { ReusedContext } from '../drivers/browser.ts';
import type { StartedProcess } from '../drivers/child-process.ts';
import { type CliResult, CliSession } from '../drivers/cli.ts';
import { type FakeClock, settledClockOffsetSeenBy } from '../drivers/fake-clock.ts';
import type { RunningGateway } from '../drivers/gateway.ts';
import { GatewayHttp, type HttpAnswer } from '../drivers/gateway-http.ts';
import { claimFreePort } from '../drivers/ports.ts';
import { timings } from '../drivers/timings.ts';
import { type Exchange, WireTap } from '../drivers/wire-tap.ts';
import { withinDeadline } from './clean-up-deadline.ts';
import { GatewaySettings, GatewaySettingTooLate } from './gateway-settings.ts';
import { type Harness, harness } from './harness.ts';
import type { HarnessParameters } from './parameters.ts';
import type { ScenarioState } from './scenario-state.ts';
import { ConfigurationNotOffered } from './skip-reason.ts';

/** A server may cache its Date header for a second; a moved clock shows within this. */
const CLOCK_CHECK_MS = 3000;
const CLOCK_TOLERANCE_S = 3;

/** Tells an isolated scenario's gateways and CLI runs which scenario they serve (HarnessParameters.isolateScenarios). */
export const SCENARIO_VARIABLE = 'SSO_CONFORMANCE_SCENARIO';

export class ConformanceWorld extends World<HarnessParameters> {
  // ---- The scenario ----
  /** Where the scenario is written, `<feature file>:<line>` (an outline's example row: its line). */
  scenarioLabel = '';
  /** The CLI's HOME (its alone) and the harness's files for this scenario (not under HOME). */
  home = '';
  /** The CLI's TMPDIR, the scenario's own: a key cached there is judged as one under HOME. */
  cliTmpDir = '';
  harnessDir = '';
  /** The IdP journal's last entry before this scenario: evidence shows only what came after. */
  journalSince = 0;
  /** What steps note for later steps, typed field by field (support/scenario-state.ts). */
  readonly state: ScenarioState = {};
  /** Things to stop after the scenario (Redis servers, gateways started only for it). */
  readonly cleanups: Array<() => Promise<void>> = [];

  // ---- The gateway's configuration: fixed once the scenario's gateway has started ----
  /** Gateway settings this scenario adds to and removes from the harness defaults (docs/contract.md section 3). */
  readonly gatewaySettings = new GatewaySettings();
  /** This scenario's additions to the harness defaults; a change after the gateway started throws. */
  readonly gatewayOverrides: Record<string, string> = this.gatewaySettings.overrides;
  /** Settings this scenario removes from the harness defaults; a change after the gateway started throws. */
  readonly gatewayUnset: Set<string> = this.gatewaySettings.unset;
  #cliPathPrefix = '';
  #cliBaseUrlSuffix = '';
  /** The CLI runs on the gateway's clock from its first run, even before the clock moves. */
  cliOnGatewayClock = false;
  #cliSeesPkceLogin = false;
  /** The port the CLI's wire tap listens on, when claimed before the gateway started; else any. */
  #cliTapPort = 0;
  private gatewayInUse: RunningGateway | undefined;
  /** Clocks this scenario moved, put back after it. */
  readonly movedClocks = new Set<FakeClock>();

  // ---- The harness playing the CLI over HTTP ----
  /** The login session the harness started, acting as a CLI. */
  flow: StartAnswer | undefined;
  /** The last answer a step got from the gateway, for the "Then the gateway answers" steps. */
  lastAnswer: HttpAnswer | undefined;
  /** The key a login handed out, and when the harness received it (ms since the epoch). */
  key: string | undefined;
  keyReceivedAtMs = 0;

  // ---- The CLI under test ----
  /** The CLI login this scenario started (with the URL and code it showed, once read). */
  cliLogin: { run: StartedProcess; loginUrl?: string; userCode?: string } | undefined;
  /** How the last CLI login ended, and the last other CLI command's result. */
  cliExitCode: number | null | undefined;
  cliResult: CliResult | undefined;
  /** Keys the CLI was proven to use (handed out, then sent back), in order. */
  readonly cliProvenKeys: string[] = [];
  /** The requests the CLI's last `models list` made to the model routes. */
  cliModelsRequests: Exchange[] | undefined;
  private tapInUse: WireTap | undefined;
  private cliInUse: CliSession | undefined;

  // ---- The browser ----
  context: BrowserContext | undefined;
  /** The worker's browser context, once this scenario used the browser. */
  private browsing: ReusedContext | undefined;
  /** Every answer the browser received, in order (the browser's own network log). */
  readonly browserResponses: Array<{ url: string; status: number; method: string }> = [];
  private currentPage: Page | undefined;
  private pageOpening: Promise<Page> | undefined;

  constructor(options: IWorldOptions<HarnessParameters>) {
    super(options);
  }

  harness(): Promise<Harness> {
    return harness(this.parameters);
  }

  async prepare(pickle: Pickle): Promise<void> {
    this.scenarioLabel = `${pickle.uri}:${pickle.location?.line ?? 0}`;
    const scenarioDir = await mkdtemp(join(this.parameters.workDir, 'scenario-'));
    this.home = join(scenarioDir, 'home');
    this.cliTmpDir = join(scenarioDir, 'tmp');
    this.harnessDir = join(scenarioDir, 'harness');
    await Promise.all([mkdir(this.home), mkdir(this.cliTmpDir), mkdir(this.harnessDir)]);
    const h = await this.harness();
    this.journalSince = h.idp.journal.query({ limit: 1 }).at(-1)?.seq ?? 0;
    h.gateways.beginScenario();
  }

  /**
   * The scenario's browser page, opened on first use: a scenario that never needs a browser (one
   * that plays the CLI or an attacker over HTTP) costs the browser nothing. The page is new, in the
   * worker's browser context, which holds nothing from earlier scenarios (ReusedContext, cleared
   * after each scenario), and traced (DOM snapshots of every action, network, console) so that a
   * failure has a trace.
   */
  browserPage(): Promise<Page> {
    this.pageOpening ??= this.openPage();
    return this.pageOpening;
  }

  private openPage(): Promise<Page> {
    return timings.time('browser page opened (and its trace started)', () => this.openContextAndPage());
  }

  private async openContextAndPage(): Promise<Page> {
    const h = await this.harness();
    this.browsing ??= await h.browsing();
    this.context = this.browsing.context;
    // One trace for the whole scenario, another person's browser (freshBrowser) included.
    await this.browsing.startTrace();
    const page = await this.browsing.newPage();
    page.on('response', (response) => {
      this.browserResponses.push({
        url: response.url(),
        status: response.status(),
        method: response.request().method(),
      });
    });
    this.currentPage = page;
    return page;
  }

  /**
   * A browser with no session anywhere, as for another person: everything the scenario's browser
   * holds is removed and the next browserPage() opens a new page (the IdP would otherwise sign the
   * first person in again without asking).
   */
  async freshBrowser(): Promise<void> {
    this.currentPage = undefined;
    this.pageOpening = undefined;
    await this.browsing?.clear();
  }

  /** Ends the scenario's browser trace, if it used the browser: written to `path` when given, else discarded. */
  async stopTrace(path?: string): Promise<boolean> {
    if (!this.browsing) return false;
    await this.browsing.stopTrace(path);
    return true;
  }

  /** The page a browser step used, if any (for evidence). */
  get openedPage(): Page | undefined {
    return this.currentPage;
  }

  /** The gateway with this scenario's configuration, started on first use. */
  async gateway(): Promise<RunningGateway> {
    if (!this.gatewayInUse) {
      const h = await this.harness();
      const gateway = await h.gateways.acquire(await this.environment());
      this.gatewaySettings.markStarted(`at ${gateway.url}`);
      this.gatewayInUse = gateway;
    }
    return this.gatewayInUse;
  }

  /**
   * The environment a gateway of this scenario's configuration runs with (`extra` on top, for
   * replicas and the like): from now on the scenario's settings no longer change.
   */
  async gatewayEnv(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const env = await this.environment(extra);
    this.gatewaySettings.markStarted('another gateway was started with its settings');
    return env;
  }

  /** Harness defaults, this scenario's overrides, `extra`, then this scenario's removals. */
  private async environment(extra: Record<string, string> = {}): Promise<Record<string, string>> {
    const h = await this.harness();
    const env = this.gatewaySettings.applyTo(h.defaultGatewayEnv, extra);
    // A configuration no other scenario has: the pool then starts a gateway for this scenario alone.
    if (this.parameters.isolateScenarios) env[SCENARIO_VARIABLE] = this.scenarioLabel;
    return env;
  }

  /**
   * Serve the gateway to the CLI under this path (`--base-url http://host/litellm`); set before the
   * CLI first runs (its wire tap serves the gateway under it from then on).
   */
  get cliPathPrefix(): string {
    return this.#cliPathPrefix;
  }
  set cliPathPrefix(prefix: string) {
    this.refuseAfterCliStarted('the CLI path prefix');
    this.#cliPathPrefix = prefix;
  }

  /** Appended to the base URL the CLI is given (`/`: a person who typed a trailing slash); set before the CLI first runs. */
  get cliBaseUrlSuffix(): string {
    return this.#cliBaseUrlSuffix;
  }
  set cliBaseUrlSuffix(suffix: string) {
    this.refuseAfterCliStarted("the suffix of the CLI's base URL");
    this.#cliBaseUrlSuffix = suffix;
  }

  /**
   * Whether the CLI under test may find the gateway's PKCE-native login. Off by default: the CLI
   * chapter judges the classic login, so its CLI is told that the gateway has none (the wire tap
   * answers the discovery request 404, as a v3 gateway does), and a CLI that prefers the PKCE login
   * runs the classic one. Set before the CLI first runs.
   */
  get cliSeesPkceLogin(): boolean {
    return this.#cliSeesPkceLogin;
  }

  /**
   * Let the CLI find the gateway's PKCE login, through its wire tap: the tap's port is claimed now,
   * and the URL returned is the base URL the CLI will be given. The caller tells the gateway it is
   * served there (PROXY_BASE_URL), so that the discovery document's issuer and endpoints are that
   * base URL (docs/contract.md section 10.6) and the IdP sends the browser back through the tap
   * too. Before the gateway and the CLI start.
   */
  async offerPkceLoginToCli(): Promise<string> {
    this.refuseAfterCliStarted("whether the CLI sees the gateway's PKCE login");
    if (this.cliPathPrefix !== '') throw new Error('the PKCE login is offered to the CLI only without a path prefix');
    this.#cliTapPort = await claimFreePort(this.parameters.workDir);
    this.#cliSeesPkceLogin = true;
    return `http://127.0.0.1:${this.#cliTapPort}`;
  }

  private refuseAfterCliStarted(setting: string): void {
    if (this.tapInUse) throw new GatewaySettingTooLate(setting, `the CLI is served it at ${this.tapInUse.url}`);
  }

  /** The gateway's clock, to move; the scenario is skipped when the target's clock cannot move. */
  async gatewayClock(): Promise<FakeClock> {
    const gateway = await this.gateway();
    if (!gateway.clock) {
      throw new ConfigurationNotOffered(
        this.parameters.faketimeLibrary
          ? 'is a running gateway: the harness cannot move its clock'
          : 'needs libfaketime (Debian package faketime) to move the clock, and it is not installed',
      );
    }
    this.movedClocks.add(gateway.clock);
    return gateway.clock;
  }

  /**
   * Move the gateway's clock to `offsetSeconds` from real time, and check that the gateway's own
   * `Date` header follows: libfaketime cannot reach every runtime (a Go program reads the clock
   * without the C library), and such a gateway's clock scenarios are skipped with that reason
   * instead of failed. A gateway that sends no Date header is taken at its word.
   */
  async moveGatewayClock(offsetSeconds: number): Promise<void> {
    const clock = await this.gatewayClock();
    await clock.setOffsetSeconds(offsetSeconds);
    const url = (await this.gateway()).url;
    const seen = await settledClockOffsetSeenBy(url, clock.offset, {
      timeoutMs: CLOCK_CHECK_MS,
      toleranceS: CLOCK_TOLERANCE_S,
    }).catch(() => undefined);
    if (seen !== undefined && Math.abs(seen - clock.offset) > CLOCK_TOLERANCE_S) {
      throw new ConfigurationNotOffered(
        `gateway's clock cannot be moved by libfaketime: moved ${Math.round(clock.offset)} s, its Date header is ${seen} s off (a Go program, or one that reads the clock without the C library)`,
      );
    }
  }

  /**
   * The harness acting as a CLI (or an attacker) over HTTP against this scenario's gateway, or
   * against `on`, another gateway the scenario started (a replica, a gateway with one setting changed).
   */
  async http(on?: RunningGateway): Promise<GatewayHttp> {
    return new GatewayHttp((on ?? (await this.gateway())).url);
  }

  get startedGateway(): RunningGateway | undefined {
    return this.gatewayInUse;
  }

  /** The CLI under test, talking to the gateway through a wire tap. */
  async cli(): Promise<CliSession> {
    if (!this.cliInUse) {
      const gateway = await this.gateway();
      this.tapInUse = new WireTap(new URL(gateway.url), this.cliPathPrefix);
      await this.tapInUse.start(this.#cliTapPort);
      if (!this.#cliSeesPkceLogin) this.tapInUse.hidePkceLogin();
      const library = this.parameters.faketimeLibrary;
      const clock = gateway.clock;
      this.cliInUse = new CliSession({
        target: this.parameters.cli,
        home: this.home,
        tmpDir: this.cliTmpDir,
        harnessDir: this.harnessDir,
        baseUrl: `${this.tapInUse.url}${this.cliBaseUrlSuffix}`,
        baseEnv: this.parameters.baseEnv,
        userEnv: this.parameters.cliEnv,
        harnessEnv: this.parameters.isolateScenarios ? { [SCENARIO_VARIABLE]: this.scenarioLabel } : {},
        // The CLI's clock is moved only where a scenario judges it (whoami after expiry, a login
        // that outlives its session): elsewhere it runs on the real clock, as a person's does.
        clockEnv: () =>
          clock && library && (this.cliOnGatewayClock || clock.offset !== 0) ? clock.processEnv(library) : {},
      });
    }
    return this.cliInUse;
  }

  get tap(): WireTap {
    if (!this.tapInUse) throw new Error('no CLI has talked to the gateway in this scenario');
    return this.tapInUse;
  }

  get cliSession(): CliSession | undefined {
    return this.cliInUse;
  }

  async cleanUp(): Promise<void> {
    for (const cleanup of this.cleanups.reverse()) await withinDeadline("a step's clean-up", cleanup);
    await this.cliInUse?.stopAll();
    await this.tapInUse?.close();
    await Promise.all([...this.movedClocks].map((clock) => clock.reset()));
    // An isolated scenario's gateway serves no one else: it stops now, not when the pool needs room.
    if (this.parameters.isolateScenarios && this.gatewayInUse) {
      await (await this.harness()).gateways.retire(this.gatewayInUse);
    }
    const browsing = this.browsing;
    if (browsing) {
      const cleared = await timings.time('browser cleared (pages, cookies, cache, site data)', () =>
        withinDeadline('clearing the browser context', () => browsing.clear()),
      );
      // The next scenario must not inherit what this one left: it gets a new context instead.
      if (!cleared) browsing.discard();
    }
    // The IdP goes back to its start: users, faults, sessions, tokens, journal, clock offset.
    const idp = (await this.harness()).idp;
    const began = performance.now();
    idp.reset();
    timings.add('mock IdP reset', performance.now() - began);
  }
}

setWorldConstructor(ConformanceWorld);
