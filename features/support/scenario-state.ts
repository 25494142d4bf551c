/**
 * What a scenario remembers between its steps, beyond the world's own fields: one typed, optional
 * field per thing a step notes for a later step, grouped by the chapter of the suite that uses it.
 * A step reads a field back with its type (no cast) and fails with its own words when it is missing.
 * A new field goes in the group of the feature that needs it, with a line saying what it holds.
 */
import type { Page } from 'playwright-core';
import type { PollAnswer, StartAnswer } from '../../protocol/cli-sso.ts';
import type { RunningGateway } from '../drivers/gateway.ts';
import type { HttpAnswer } from '../drivers/gateway-http.ts';
import type { LoopbackListener } from '../drivers/loopback-listener.ts';
import type { PostgresServer } from '../drivers/postgres-server.ts';
import type { RedisServer } from '../drivers/redis-server.ts';
import type { StoreRelay } from '../drivers/store-relay.ts';
import type { WireTap } from '../drivers/wire-tap.ts';
import type { CompletionFormDetails } from '../pages/cli-completion-page.ts';
import type { ConsentForm } from '../pages/consent-page.ts';

/** A poll answer that handed out a key. */
export type ReadyAnswer = Extract<PollAnswer, { status: 'ready' }>;

/** What the harness knows of when a session was made or written: no earlier than `from`, no later than `to`. */
export interface Moment {
  from: number;
  to: number;
}

/** How a login that may be refused ended (tasks/login-attempt.ts). */
export type LoginAttempt =
  | { kind: 'refused at the callback'; status: number }
  | { kind: 'no key'; status: number; text: string }
  | { kind: 'key'; ready: ReadyAnswer };

/** The last answer of a browser's navigation through the IdP: where it ended and with what status. */
export interface NavigationEnd {
  status: number;
  url: string;
}

/** An answer the browser got from the gateway, with its headers (read when a step needs them). */
export interface RecordedAnswer {
  url: string;
  method: string;
  status: number;
  headers: Promise<Record<string, string>>;
}

/** Whether the scenario's gateway started, and what it printed or why it did not. */
export interface StartOutcome {
  started: boolean;
  output: string;
}

/** Login sessions the harness started as a CLI, and the browser's part in them. */
export interface SessionState {
  /** When the last session was made, on the gateway's clock. */
  sessionStarted?: Moment;
  /** When the IdP callback wrote the last session, on the gateway's clock. */
  sessionWritten?: Moment;
  /** When the browser set off to sign in (ms since the epoch, real clock). */
  signInBeganMs?: number;
  /** The poll answer that handed the harness its key. */
  readyAnswer?: ReadyAnswer;
  /** Several sessions started one after another. */
  sessions?: StartAnswer[];
  /** Where the gateway first sent the browser from the session's login URL. */
  entryRedirect?: URL;
  /** How the last sign-in navigation ended (undefined: the browser got no answer). */
  signInAnswer?: NavigationEnd;
  /** The status the gateway answered the code typed in the browser with (when the page saw it). */
  completionStatus?: number;
}

/** Polls the harness sent and reads later. */
export interface PollingState {
  /** A poll that asked to wait, still under way, and how long it asked to wait. */
  longPoll?: { seconds: number; answer: Promise<HttpAnswer> };
  /** Polls sent at the same moment. */
  concurrentPolls?: HttpAnswer[];
}

/** What an outsider tried (attacks.feature). */
export interface AttackState {
  /** A login that may have been refused. */
  loginAttempt?: LoginAttempt;
  /** The completion form, noted while it was on screen. */
  notedForm?: CompletionFormDetails;
  /** Every answer of the gateway the browser got, from the moment a step began keeping them. */
  pageHeaders?: RecordedAnswer[];
  /** A second person's browser on the same login, and what the gateway answered its sign-in. */
  lateSignIn?: { page: Page; callbackStatus?: number };
}

/** The admin UI's sign-in (ui-session.feature). */
export interface UiState {
  /** When the sign-in began (ms since the epoch) and the cookies the callback's answer set. */
  uiLogin?: { startedMs: number; cookieNames: string[] };
  /** The gateway's answer to the IdP's answer, delivered from another browser. */
  uiCallbackElsewhere?: HttpAnswer;
  /** The status and the cookies of the gateway's answer to an admin UI sign-in's IdP callback. */
  uiCallback?: { status: number; setCookies: string[] };
}

/** Starting a gateway with the scenario's settings (configuration.feature). */
export interface ConfigurationState {
  startOutcome?: StartOutcome;
}

/** A poll answer as the harness saw it; `status` undefined: no answer within the deadline. */
export interface SeenPoll {
  gateway: string;
  status: number | undefined;
  /** The key when the answer is a ready one with a key. */
  key: string | undefined;
  /** The start of the body or the reason there was none, for messages (secrets redacted by the report). */
  summary: string;
  startedAtMs: number;
}

export interface LostAnswerRound {
  /** The store failed right after this write of the poll (1 = its first write to Redis). */
  write: number;
  /** False when the poll made fewer writes (before answering) and the store did not fail. */
  storeFailed: boolean;
  /** The poll that was in flight when the store failed (or that finished without it failing). */
  inFlight: SeenPoll;
  /** The same CLI's polls after the store came back, in order. */
  retries: SeenPoll[];
  /** Polls with the login id and another poll secret, during the outage and after. */
  strangers: SeenPoll[];
}

/** Replicas of the gateway and the stores they share (replicas.feature). */
export interface ReplicaState {
  replicas?: RunningGateway[];
  redis?: RedisServer;
  database?: PostgresServer;
  /** The relay between the replicas and their Redis, when the scenario makes the store fail. */
  storeRelay?: StoreRelay;
  /** When the Redis was ready again after a crash (ms since the epoch), for the evidence. */
  redisBackAtMs?: number;
  /** Logins set aside by name while another is under way. */
  setAside?: Record<string, StartAnswer>;
  /** What each round of "the store fails after write n of the poll" saw (CLISSO-STORE-05, -06). */
  lostAnswerRounds?: LostAnswerRound[];
}

/** The endpoints a gateway's discovery document names (docs/contract.md section 10.6). */
export interface NativeEndpoints {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  registration_endpoint: string;
  revocation_endpoint: string;
  resource: string;
}

/** One sign-in of the native CLI the harness plays: its client, PKCE pair and state. */
export interface NativeSignIn {
  clientId: string;
  redirectUri: string;
  verifier: string;
  challenge: string;
  state: string;
  /** How many callbacks the loopback listener had received when the sign-in began. */
  callbacksBefore: number;
}

/** What the token endpoint hands out (docs/contract.md section 10.6, POST /token). */
export interface NativeTokens {
  access_token: string;
  token_type: string;
  expires_in: number;
  refresh_token: string;
  user_id: string;
  team_id: string | null;
}

/** What became of a sign-in asked to return somewhere (signInReturningTo). */
export interface ReturnedSignIn {
  /** The 4xx the gateway refused the sign-in with at once, if it did. */
  refusedWith: number | undefined;
  /** Every address the browser's main frame was sent to, failed navigations included. */
  visited: string[];
  /** The origins a browser may be sent to in a sign-in: the gateway's (listening and public) and the IdP's. */
  allowedOrigins: Set<string>;
}

/** The harness playing a native CLI of the PKCE-native login (native-login.feature). */
export interface NativeLoginState {
  /** The first URL the CLI under test opened in the browser, where the PKCE login was offered to it. */
  cliOpenedWherePkceOffered?: string;
  /** The discovery document's endpoints, read once the gateway is known to advertise the login. */
  nativeEndpoints?: NativeEndpoints;
  /** The CLI's loopback listener, started for the scenario (closed after it). */
  nativeListener?: LoopbackListener;
  /** The client the CLI registered last: its id and the redirect URIs it registered. */
  nativeClient?: { clientId: string; redirectUris: string[] };
  /** The sign-in under way or done. */
  nativeSignIn?: NativeSignIn;
  /** What the loopback listener received for that sign-in. */
  nativeCallback?: URLSearchParams;
  /**
   * When the last consent decision was made, in the harness's milliseconds: from just before the
   * click to the redirect reaching the loopback listener; a code was issued in between.
   */
  nativeDecided?: { fromMs: number; toMs: number };
  /** A consent form noted to be posted later, by someone else or without the browser (CLISSO-NATIVE-19). */
  notedConsentForm?: ConsentForm;
  /** The tokens the CLI holds now. */
  nativeTokens?: NativeTokens;
  /**
   * When those tokens were issued, in the harness's milliseconds: from just before the token request
   * to its answer (CLISSO-NATIVE-21, the refresh token's 14 days).
   */
  nativeTokensIssued?: { fromMs: number; toMs: number };
  /** The refresh token the last refresh replaced. */
  replacedRefreshToken?: string;
  /** A second client registered with the same redirect URI, to try the first one's grants. */
  otherNativeClientId?: string;
  /** A sign-in opened with a `return_to` (CLISSO-NATIVE-17), and where the browser went. */
  returnedSignIn?: ReturnedSignIn;
  /**
   * The relay serving the gateway under a path prefix (CLISSO-NATIVE-01): the native CLI and the
   * browser reach the gateway only through it, and it records every request.
   */
  nativeRelay?: WireTap;
}

/** A session of the CLI session registry, as the list shows it (session-registry.feature). */
export interface ListedSession {
  session_id: string;
  user_id: string;
  team_id: string | null;
  revoked_at: string | null;
  [field: string]: unknown;
}

/** The CLI session registry (session-registry.feature). */
export interface RegistryState {
  /** The ids listed before the scenario's login, to tell its session from earlier ones. */
  sessionsBefore?: Set<string>;
  /** The login's session, as listed after it. */
  loginSession?: ListedSession;
  /** The session of an earlier login of the same scenario, kept to compare the list's order. */
  earlierSession?: ListedSession;
  /** The answer to the first revocation of that session. */
  firstRevocation?: ListedSession;
}

export interface ScenarioState
  extends SessionState,
    NativeLoginState,
    RegistryState,
    PollingState,
    AttackState,
    UiState,
    ConfigurationState,
    ReplicaState {}
