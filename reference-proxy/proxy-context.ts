/** What every route needs, built once by startReferenceProxy and passed in (no module state). */
import type { Clock } from '../common/clock.ts';
import type { Logger } from '../common/logger.ts';
import type { Admission } from './admission.ts';
import type { MasterKey } from './api-auth.ts';
import type { SessionRevocations } from './cli-sessions.ts';
import type { ProxyConfig } from './config.ts';
import type { FlowStore } from './flow-store.ts';
import type { KeyIssuer } from './key-issuer.ts';
import type { StartRateLimit } from './start-rate-limit.ts';
import type { UiSessions } from './ui-session.ts';
import type { UserStore } from './user-store.ts';

export interface ProxyContext {
  config: ProxyConfig;
  /** LITELLM_MASTER_KEY, as the digest a presented key is compared with (api-auth.ts). */
  masterKey: MasterKey;
  clock: Clock;
  logger: Logger;
  flows: FlowStore;
  /** Users and the CLI session registry (SQLite or PostgreSQL). */
  users: UserStore;
  /** Which CLI sessions are revoked, remembered for a few seconds (cli-sessions.ts). */
  sessions: SessionRevocations;
  startLimit: StartRateLimit;
  keys: KeyIssuer;
  uiSessions: UiSessions;
  /** Refuses starts when this replica is saturated (admission.ts). */
  admission: Admission;
}
