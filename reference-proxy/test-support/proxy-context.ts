/**
 * Test support: a ProxyContext built the way startReferenceProxy builds one, on in-memory stores (a
 * flow store may be handed in, e.g. one with a planted bug), with its log lines kept, for tests
 * that serve createProxyApp or createProxyListener themselves.
 */
import { type Clock, systemClock } from '../../common/clock.ts';
import { createLogger } from '../../common/logger.ts';
import { Admission } from '../admission.ts';
import { MasterKey } from '../api-auth.ts';
import { SessionRevocations } from '../cli-sessions.ts';
import type { ProxyConfig } from '../config.ts';
import { type FlowStore, MemoryFlowStore } from '../flow-store.ts';
import { KeyIssuer } from '../key-issuer.ts';
import type { ProxyContext } from '../proxy-context.ts';
import { SqliteUserStore } from '../sqlite-user-store.ts';
import { MemoryStartRateLimit } from '../start-rate-limit.ts';
import { UiSessions } from '../ui-session.ts';

export function testProxyContext(
  config: ProxyConfig,
  options: { logLines: string[]; flows?: FlowStore; clock?: Clock },
): ProxyContext {
  const clock = options.clock ?? systemClock;
  const flows = options.flows ?? new MemoryFlowStore(clock);
  const users = new SqliteUserStore(':memory:');
  return {
    config,
    masterKey: new MasterKey(config.masterKey),
    clock,
    logger: createLogger({
      sink: { write: (line: string) => options.logLines.push(line) },
      component: 'reference-proxy',
      level: 'debug',
      clock,
    }),
    flows,
    users,
    sessions: new SessionRevocations(users),
    startLimit: new MemoryStartRateLimit(clock),
    keys: new KeyIssuer(config.signingSecret, config.cliKeyLifetimeSeconds, clock, config.keyLeewaySeconds),
    uiSessions: new UiSessions(config.signingSecret, config.uiSessionSeconds, clock),
    admission: new Admission(config.admission, flows),
  };
}
