/**
 * Logic faults of the self-check: each is a few lines of the reference gateway's source, written
 * wrong the way a person could write them, and applied to a copy as it is bundled (never to the
 * files in the repository). A relay can only break what crosses the wire; these break the logic
 * behind it, and need nothing of the gateway's internals to do so.
 *
 * Each fault names the rule it breaks (docs/contract.md) and the edits, as exact text: an edit whose
 * `find` is not in the file exactly once stops the build (and `source-faults.test.ts`), so a fault
 * never silently turns into the unbroken gateway when the source moves on.
 */
import { readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { FAULT_FIRED_EVENT } from './fault.ts';

export interface SourceEdit {
  /** Repository-relative path of the file. */
  file: string;
  find: string;
  replace: string;
  /**
   * Where the fault is recorded as fired (a `fault_fired` log line, counted like a relay's): before
   * the edited statement (`statement`), or as part of the edited expression (`expression`); `none`
   * for an edit that only makes another one possible (an import).
   */
  fires: 'statement' | 'expression' | 'none';
}

export interface SourceFault {
  name: string;
  /** The rule of docs/contract.md that the fault breaks, in one line. */
  rule: string;
  /** Where that rule is written. */
  section: string;
  /** What the code does instead, for the summary. */
  mechanism: string;
  edits: readonly SourceEdit[];
}

export const SOURCE_FAULTS: readonly SourceFault[] = [
  {
    name: 'filter-skipped',
    rule: 'a destination key containing a secret-looking word (token, secret, password, ...) is dropped from the attribution metadata',
    section: '5',
    mechanism: 'the blocked words are compared with the whole key instead of looked for inside it',
    edits: [
      {
        file: 'protocol/claim-map.ts',
        find: 'const word = blockedKeyWords(rules).find((w) => lower.includes(w));',
        replace: 'const word = blockedKeyWords(rules).find((w) => lower === w);',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'wrong-expiry',
    rule: 'the CLI key expires LITELLM_CLI_JWT_EXPIRATION_HOURS after it is issued (exp = iat + hours x 3600)',
    section: '6',
    mechanism: "the key's exp is twice the lifetime; the answer's expires_in still tells the configured one",
    edits: [
      {
        file: 'reference-proxy/key-issuer.ts',
        find: 'const expiresAt = issuedAt + this.lifetimeSeconds;',
        replace: 'const expiresAt = issuedAt + 2 * this.lifetimeSeconds;',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'forged-key-accepted',
    rule: 'a key whose signature does not verify (tampered, another signer) is refused with 401',
    section: '6',
    mechanism: 'a key whose signature fails is decoded and trusted anyway (a "grace" for keys of an earlier secret)',
    edits: [
      {
        file: 'reference-proxy/key-issuer.ts',
        find: "import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';",
        replace: "import { decodeJwt, errors as joseErrors, jwtVerify, SignJWT } from 'jose';",
        fires: 'none',
      },
      {
        file: 'reference-proxy/key-issuer.ts',
        find: `        requiredClaims: ['exp', 'sub', 'iat'],
      });`,
        replace: `        requiredClaims: ['exp', 'sub', 'iat'],
      }).catch((error: unknown) => {
        if (!(error instanceof joseErrors.JWSSignatureVerificationFailed)) throw error;
        __selfCheckFaultFired();
        return { payload: decodeJwt(token) };
      });`,
        fires: 'none',
      },
    ],
  },
  {
    name: 'team-not-checked',
    rule: "a team_id that is not one of the person's teams is refused with 403 and no key",
    section: '2.5',
    mechanism: 'the team_id is only checked to be present, not to be one of the teams of the login',
    edits: [
      {
        file: 'reference-proxy/routes/cli-poll.ts',
        find: 'if (teamId !== undefined && !teams.includes(teamId)) {',
        replace: "if (teamId !== undefined && teamId.trim() === '') {",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'poll-secret-optional',
    rule: 'a poll without the right x-litellm-cli-poll-secret gets 403',
    section: '2.5',
    mechanism: 'a poll that sends no poll secret at all is let through (for "older CLIs")',
    edits: [
      {
        file: 'reference-proxy/routes/cli-poll.ts',
        find: 'if (!matchesHash(pollSecret, flow.pollSecretHash)) {',
        replace: 'if (pollSecret !== undefined && !matchesHash(pollSecret, flow.pollSecretHash)) {',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'wrong-code-limit-six',
    rule: 'the fifth wrong code ends the login; four leave it open',
    section: '2.4',
    mechanism: 'the limit is compared with > instead of >=: the sixth wrong code ends it',
    edits: [
      {
        file: 'reference-proxy/routes/cli-complete.ts',
        find: 'return failed >= MAX_FAILED_CODE_ATTEMPTS',
        replace: 'return failed > MAX_FAILED_CODE_ATTEMPTS',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'expired-key-401',
    rule: "an expired key gets 400 with the error type 'expired_key', not 401",
    section: '6',
    mechanism: 'an expired key is answered like any invalid key: 401',
    edits: [
      {
        file: 'reference-proxy/api-auth.ts',
        find: "if (check.reason === 'expired') {",
        replace: "if (check.reason === 'expired' && ctx.config.masterKey === '') {",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'claim-map-last-arrow',
    rule: 'each claim-map entry is split on its first "->"',
    section: '5',
    mechanism: 'the entry is split on its last "->"',
    edits: [
      {
        file: 'protocol/claim-map.ts',
        find: "const arrow = trimmed.indexOf('->');",
        replace: "const arrow = trimmed.lastIndexOf('->');",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'numbers-loosely',
    rule: 'litellm-v3 stores strings that look like numbers as numbers ("42" -> 42) and "12abc" or "1.2.3" as strings; litellm-v4 stores every string as a string',
    section: '5.1',
    mechanism: 'a string that starts with a number is stored as that number (parseFloat), whatever the profile',
    edits: [
      {
        file: 'protocol/claim-map.ts',
        find: "rules.numericStringsAsNumbers && typeof value === 'string' && NUMERIC_STRING.test(value) ? Number(value) : value;",
        replace:
          "typeof value === 'string' && !Number.isNaN(Number.parseFloat(value)) ? Number.parseFloat(value) : value;",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'user-info-for-any-key',
    rule: "a CLI key cannot read another person's /user/info row (only the master key can)",
    section: '2.7',
    mechanism: 'any valid key may read any row',
    edits: [
      {
        file: 'reference-proxy/routes/user-info.ts',
        find: "if (caller.kind !== 'master') {",
        replace: "if (caller.kind !== 'master' && caller.kind !== 'cli_key') {",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'session-ends-late',
    rule: 'a login session ends 600 s after it was started: at 600 s it is gone',
    section: '2.1',
    mechanism:
      'a new session is given one second too many: it still answers 600 s after it was started (a < or <= on the expiry alone differs only within the same millisecond, which no client can aim at)',
    edits: [
      {
        file: 'reference-proxy/flow-store.ts',
        find: 'if (previous === undefined) return Math.min(nowMs + FLOW_TTL_MS, next.createdAtMs + FLOW_MAX_LIFETIME_MS);',
        replace:
          'if (previous === undefined) return Math.min(nowMs + FLOW_TTL_MS + 1000, next.createdAtMs + FLOW_MAX_LIFETIME_MS);',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'key-before-code-confirmed',
    rule: 'until the callback and the code confirmation are done, a poll answers pending',
    section: '2.5',
    mechanism: 'the poll hands out the key once the IdP callback is done, before the person confirmed the code',
    edits: [
      {
        file: 'reference-proxy/routes/cli-poll.ts',
        find: "if (flow.status !== 'user_code_verified' || !flow.session) return",
        replace: 'if (!flow.session) return',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'late-sign-in-overwrites',
    rule: 'a sign-in that reaches the callback after the code was confirmed is refused and changes nothing',
    section: '2.3',
    mechanism:
      'the callback accepts a login whose code is already confirmed: a second browser that set off for the IdP before overwrites whose login it is',
    edits: [
      {
        file: 'reference-proxy/routes/sso-callback.ts',
        find: "if (!flow || flow.status === 'user_code_verified') throw",
        replace: 'if (!flow) throw',
        fires: 'statement',
      },
      {
        file: 'reference-proxy/routes/sso-callback.ts',
        find: "!current || current.status === 'user_code_verified'",
        replace: '!current',
        fires: 'none',
      },
    ],
  },
  {
    name: 'claim-map-empty-side',
    rule: 'a claim-map entry with an empty side is no pair; of the pairs, the later one for a destination wins',
    section: '5.1',
    mechanism: 'an entry is skipped only when both sides are empty, so `->who` replaces an earlier pair for `who`',
    edits: [
      {
        file: 'protocol/claim-map.ts',
        find: "if (source === '' || destination === '') {",
        replace: "if (source === '' && destination === '') {",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'jwt-three-parts-only',
    rule: 'a value that starts with eyJ and has two or more dots is dropped as JWT-looking',
    section: '5.2',
    mechanism: 'only exactly two dots count, so an encrypted JWT (five parts) is kept',
    edits: [
      {
        file: 'protocol/claim-map.ts',
        find: "value.split('.').length - 1 >= 2",
        replace: "value.split('.').length - 1 === 2",
        fires: 'expression',
      },
    ],
  },
  {
    name: 'ui-session-ignores-experimental',
    rule: 'with EXPERIMENTAL_UI_LOGIN on, the admin UI session lasts 10 minutes whatever LITELLM_UI_SESSION_DURATION says',
    section: '7',
    mechanism: 'LITELLM_UI_SESSION_DURATION is used whether EXPERIMENTAL_UI_LOGIN is on or not',
    edits: [
      {
        file: 'reference-proxy/config.ts',
        find: 's.experimentalUiLogin ? UI_SESSION_SECONDS_UNDER_EXPERIMENTAL_LOGIN : s.uiSessionSeconds',
        replace: 's.uiSessionSeconds',
        fires: 'expression',
      },
    ],
  },
  {
    name: 'prefilled-link-wrong-code',
    rule: "a verification_uri_complete carries the session's own code",
    section: '10.8',
    mechanism: "the start answer's link carries a freshly drawn code instead of the session's",
    edits: [
      {
        file: 'reference-proxy/routes/cli-start.ts',
        find: 'verificationUriComplete(req, ctx, loginId, formatUserCode(userCode))',
        replace: 'verificationUriComplete(req, ctx, loginId, formatUserCode(newUserCode()))',
        fires: 'expression',
      },
    ],
  },
  {
    name: 'token-redirect-uri-unchecked',
    rule: 'a code is redeemed only by its client, with the redirect URI it was sent to (RFC 6749 section 4.1.3)',
    section: '10.6',
    mechanism: "the token endpoint checks the code's client but not its redirect URI",
    edits: [
      {
        file: 'reference-proxy/native-login/token.ts',
        find: 'if (c.client_id !== client.clientId || c.redirect_uri !== redirectUri) {',
        replace: 'if (c.client_id !== client.clientId) {',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'code-lives-longer',
    rule: 'an authorization code of the PKCE-native login lives 120 s',
    section: '10.6',
    mechanism: 'codes are sealed for 125 s',
    edits: [
      {
        file: 'reference-proxy/native-login/authorize.ts',
        find: 'export const CODE_SECONDS = 120;',
        replace: 'export const CODE_SECONDS = 125;',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'codes-reusable-across-replicas',
    rule: 'a code and a refresh token are single use across replicas',
    section: '10.6',
    mechanism: "the shared store's single-use mark always succeeds: each replica lets a code through once",
    edits: [
      {
        file: 'reference-proxy/redis-flow-store.ts',
        find: "    return result === 'OK';\n  }\n\n  async isMarked(",
        replace: '    return true;\n  }\n\n  async isMarked(',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'consent-without-session',
    rule: "POST /authorize/complete without the browser's gateway session is refused and issues no code",
    section: '10.6',
    mechanism: "a post without a session is let through as the flow's user",
    edits: [
      {
        file: 'reference-proxy/native-login/authorize.ts',
        find: "if (!session) throw oauthError(401, 'login_required', 'sign in to the gateway to finish authorizing the CLI');\n    const flow = await openFlow(seals, formField(req, 'flow'));\n    if (flow.userId !== session.userId) {",
        replace:
          "const flow = await openFlow(seals, formField(req, 'flow'));\n    if (session && flow.userId !== session.userId) {",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'consent-team-unchecked',
    rule: "the consent page attributes the credential to one of the person's own teams",
    section: '10.6',
    mechanism: 'any team posted with the consent form is taken, not only one of those offered',
    edits: [
      {
        file: 'reference-proxy/native-login/authorize.ts',
        find: '  if (!flow.teams.includes(picked)) {',
        replace: "  if (picked === '') {",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'teams-replaced-by-idp',
    rule: "a login adds the IdP's teams to the user's memberships; a team of an earlier login stays",
    section: '4',
    mechanism: "each login replaces the user's teams with the ones the IdP names now",
    edits: [
      {
        file: 'reference-proxy/user-store.ts',
        find: 'teams: [...new Set([...(existing?.teams ?? []), ...identity.teams])],',
        replace: 'teams: [...new Set([...identity.teams])],',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'viewer-may-revoke',
    rule: 'only a proxy admin may revoke a CLI session; an admin viewer may only list them',
    section: '10.7',
    mechanism: 'revoking is allowed to every role that may list',
    edits: [
      {
        file: 'reference-proxy/routes/cli-sessions.ts',
        find: '  if (roleOf(caller) !== CLI_SESSION_REVOKE_ROLE) {',
        replace: '  if (!CLI_SESSION_LIST_ROLES.includes(roleOf(caller))) {',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'session-list-unbounded',
    rule: 'the CLI session list takes a page size of 1 to 100',
    section: '10.7',
    mechanism: 'any page size is taken',
    edits: [
      {
        file: 'reference-proxy/routes/cli-sessions.ts',
        find: '      CLI_SESSION_PAGE_SIZE.max,\n',
        replace: '      1_000_000,\n',
        fires: 'expression',
      },
    ],
  },
  {
    name: 'authorize-redirect-uri-prefix',
    rule: "GET /authorize takes a redirect_uri only when it is exactly one of the client's registered URIs",
    section: '10.6',
    mechanism: 'a redirect_uri that starts with a registered one is taken (a path or a character added)',
    edits: [
      {
        file: 'reference-proxy/native-login/authorize.ts',
        find: 'if (redirectUri === undefined || !client.redirectUris.includes(redirectUri)) {',
        replace: 'if (redirectUri === undefined || !client.redirectUris.some((u) => redirectUri.startsWith(u))) {',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'challenge-any-length',
    rule: 'GET /authorize takes an S256 code_challenge of exactly 43 characters',
    section: '10.6',
    mechanism: 'a challenge of 43 to 128 characters is taken (the verifier bounds applied to the challenge)',
    edits: [
      {
        file: 'reference-proxy/native-login/authorize.ts',
        find: "!S256_CHALLENGE.test(codeChallenge ?? '')",
        replace: "!/^[A-Za-z0-9_-]{43,128}$/.test(codeChallenge ?? '')",
        fires: 'expression',
      },
    ],
  },
  {
    name: 'loopback-host-prefix',
    rule: 'a grant for the gateway API goes only to a redirect_uri whose host is exactly 127.0.0.1, [::1] or localhost',
    section: '10.6',
    mechanism: 'a host that starts with a loopback name counts as loopback (https://127.0.0.1.example/)',
    edits: [
      {
        file: 'reference-proxy/native-login/redirect-uris.ts',
        find: 'LOOPBACK_HOSTNAMES.has(new URL(uri).hostname)',
        replace: '[...LOOPBACK_HOSTNAMES].some((h) => new URL(uri).hostname.startsWith(h))',
        fires: 'expression',
      },
    ],
  },
  {
    name: 'resource-origin-only',
    rule: "a resource names this gateway's API only when it is the gateway's base URL, path included",
    section: '10.6',
    mechanism: 'only the origin of the resource is compared: another path on the host is taken',
    edits: [
      {
        file: 'reference-proxy/native-login/redirect-uris.ts',
        find: 'path(given) === path(ours)',
        replace: 'path(given).length >= 0',
        fires: 'expression',
      },
    ],
  },
  {
    name: 'consent-answered-twice',
    rule: 'a consent form is answered once: posted again, it is refused and issues no second code',
    section: '10.6',
    mechanism: "the consent flow's single-use mark is only taken for a flow past its lifetime",
    edits: [
      {
        file: 'reference-proxy/native-login/authorize.ts',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the source's own template literal, as text
        find: 'if (!(await ctx.flows.markOnce(`consent-flow:${flow.jti}`, remainingMs + 60_000))) {',
        replace:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: as above
          'if (remainingMs < 0 && !(await ctx.flows.markOnce(`consent-flow:${flow.jti}`, remainingMs + 60_000))) {',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'refresh-token-lives-30-days',
    rule: 'a refresh token of the PKCE-native login lives 14 days',
    section: '10.6',
    mechanism: 'refresh tokens are sealed for 30 days',
    edits: [
      {
        file: 'reference-proxy/native-login/token.ts',
        find: 'export const REFRESH_TOKEN_SECONDS = 14 * 24 * 3600;',
        replace: 'export const REFRESH_TOKEN_SECONDS = 30 * 24 * 3600;',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'revoke-unknown-client-accepted',
    rule: 'POST /revoke with an unknown client id answers 401 invalid_client',
    section: '10.6',
    mechanism: 'an unknown client id is let through as a client without redirect URIs, and answered 200 {}',
    edits: [
      {
        file: 'reference-proxy/native-login/token.ts',
        find: "import { type RegisteredClient, requireClient } from './clients.ts';",
        replace: "import { openClient, type RegisteredClient, requireClient } from './clients.ts';",
        fires: 'none',
      },
      {
        file: 'reference-proxy/native-login/token.ts',
        find: "const client = await requireClient(seals, formField(req, 'client_id'));\n    const presented",
        replace:
          "const client = (await openClient(seals, formField(req, 'client_id'))) ?? { clientId: '', redirectUris: [] };\n    const presented",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'revoke-other-clients-token',
    rule: 'POST /revoke burns a refresh token only for the client it was issued to (RFC 7009 section 2.1)',
    section: '10.6',
    mechanism: "the revocation opens a refresh token without checking its client: any client can end another's login",
    edits: [
      {
        file: 'reference-proxy/native-login/token.ts',
        find: '  nowMs: number,\n): Promise<RefreshToken | undefined> {',
        replace: '  nowMs: number,\n  anyClient = false,\n): Promise<RefreshToken | undefined> {',
        fires: 'none',
      },
      {
        file: 'reference-proxy/native-login/token.ts',
        find: 'if (c.client_id !== client.clientId) return undefined;',
        replace: 'if (c.client_id !== client.clientId && !anyClient) return undefined;',
        fires: 'statement',
      },
      {
        file: 'reference-proxy/native-login/token.ts',
        find: 'const refresh = await openRefreshToken(seals, presented, client, ctx.clock.nowMs());\n    if (refresh) {',
        replace:
          'const refresh = await openRefreshToken(seals, presented, client, ctx.clock.nowMs(), true);\n    if (refresh) {',
        fires: 'none',
      },
    ],
  },
  {
    name: 'redirect-uri-backslash-accepted',
    rule: 'a registered redirect URI holds no backslash',
    section: '10.6',
    mechanism: 'the backslash check is left out (a URL parser reads it as a slash)',
    edits: [
      {
        file: 'reference-proxy/native-login/redirect-uris.ts',
        find: "uri.includes('\\\\') || uri.includes('#')",
        replace: "uri.includes('#')",
        fires: 'expression',
      },
    ],
  },
  {
    name: 'session-pages-overlap',
    rule: 'page N of the CLI session list, of size S, holds the sessions (N-1)*S+1 to N*S',
    section: '10.7',
    mechanism: 'the offset is computed with one session fewer a page: pages after the first overlap',
    edits: [
      {
        file: 'reference-proxy/sqlite-user-store.ts',
        find: '(page - 1) * pageSize',
        replace: '(page - 1) * Math.max(1, pageSize - 1)',
        fires: 'expression',
      },
    ],
  },
  {
    name: 'sessions-oldest-first',
    rule: 'the CLI session list is newest first',
    section: '10.7',
    mechanism: 'the list is ordered by creation ascending',
    edits: [
      {
        file: 'reference-proxy/sqlite-user-store.ts',
        find: 'ORDER BY created_at_ms DESC, session_id LIMIT ? OFFSET ?',
        replace: 'ORDER BY created_at_ms ASC, session_id LIMIT ? OFFSET ?',
        fires: 'none',
      },
      {
        file: 'reference-proxy/sqlite-user-store.ts',
        find: 'return { sessions: rows.map(rowToSession), totalCount };',
        replace: 'return { sessions: rows.map(rowToSession), totalCount: totalCount };',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'expired-sessions-listed',
    rule: 'the CLI session list holds only sessions whose key has not expired',
    section: '10.7',
    mechanism: 'the list and its count are read without the expiry filter (every session ever recorded)',
    edits: [
      {
        file: 'reference-proxy/sqlite-user-store.ts',
        find: "this.db.prepare('SELECT COUNT(*) AS n FROM cli_sessions WHERE expires_at_ms > ?').get(nowMs)",
        replace: "this.db.prepare('SELECT COUNT(*) AS n FROM cli_sessions WHERE expires_at_ms > ?').get(0)",
        fires: 'expression',
      },
      {
        file: 'reference-proxy/sqlite-user-store.ts',
        find: '.all(nowMs, pageSize,',
        replace: '.all(0, pageSize,',
        fires: 'none',
      },
    ],
  },
  {
    name: 'session-total-is-page',
    rule: "every page of the CLI session list carries the whole list's total_count",
    section: '10.7',
    mechanism: 'total_count counts the sessions of the page',
    edits: [
      {
        file: 'reference-proxy/sqlite-user-store.ts',
        find: 'return { sessions: rows.map(rowToSession), totalCount };',
        replace: 'return { sessions: rows.map(rowToSession), totalCount: rows.length };',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'revocation-not-remembered-here',
    rule: 'a revoked key is refused at once by the gateway that revoked it',
    section: '10.7',
    mechanism:
      'the revoking replica does not mark the session revoked in memory: a key it checked in the last 2 s still opens the API',
    edits: [
      {
        file: 'reference-proxy/routes/cli-sessions.ts',
        find: 'ctx.sessions.markRevoked(revoked.sessionId);',
        replace: 'void revoked.sessionId;',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'revoked-by-master-key',
    rule: "a session revoked with a proxy admin's key names that admin's user id as revoked_by",
    section: '10.7',
    mechanism: "every revocation is recorded as the master key's",
    edits: [
      {
        file: 'reference-proxy/routes/cli-sessions.ts',
        find: "return caller.kind === 'master' ? 'master_key' : caller.claims.userId;",
        replace: "return 'master_key';",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'client-secret-always-basic',
    rule: 'with GENERIC_INCLUDE_CLIENT_ID=true the code is redeemed with the client id and secret in the form body',
    section: '2.3',
    mechanism: 'GENERIC_INCLUDE_CLIENT_ID is ignored: a client with a secret always authenticates with HTTP Basic',
    edits: [
      {
        file: 'reference-proxy/idp-client.ts',
        find: 'if (idp.includeClientIdInBody || idp.clientSecret === undefined) {',
        replace: 'if (idp.clientSecret === undefined) {',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'metadata-limit-in-bytes',
    rule: 'a metadata string is kept up to 1024 characters, however many bytes they take',
    section: '5.2',
    mechanism: "the limit is compared with the string's UTF-8 length: 1024 'é' (2048 bytes) are dropped",
    edits: [
      {
        file: 'protocol/claim-map.ts',
        find: 'value.length <= MAX_METADATA_STRING_LENGTH',
        replace: "Buffer.byteLength(value, 'utf8') <= MAX_METADATA_STRING_LENGTH",
        fires: 'expression',
      },
    ],
  },
  {
    name: 'session-row-first-team',
    rule: 'a CLI session is listed with the team of the key the poll handed out (the team the person chose)',
    section: '10.7',
    mechanism: "the session row records the user's first team, not the team the key was issued for",
    edits: [
      {
        file: 'reference-proxy/routes/cli-poll.ts',
        find: 'await ctx.users.recordCliSession({\n      sessionId: sessionIdOf(claim.sessionToken),\n      userId: session.userId,\n      teamId: claim.teamId,',
        replace:
          'await ctx.users.recordCliSession({\n      sessionId: sessionIdOf(claim.sessionToken),\n      userId: session.userId,\n      teamId: session.teams[0] ?? null,',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'internal-user-may-list',
    rule: 'only the admin view (the master key, proxy_admin, proxy_admin_viewer) may list the CLI sessions',
    section: '10.7',
    mechanism: 'the list refuses internal_user_viewer only (a deny-list): an internal_user key lists every session',
    edits: [
      {
        file: 'reference-proxy/routes/cli-sessions.ts',
        find: 'if (!CLI_SESSION_LIST_ROLES.includes(roleOf(caller))) {',
        replace: "if (roleOf(caller) === 'internal_user_viewer') {",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'internal-user-may-revoke',
    rule: 'only a proxy admin (the master key counts) may revoke a CLI session',
    section: '10.7',
    mechanism: 'revoking is refused to the viewer roles only: an internal_user key revokes sessions',
    edits: [
      {
        file: 'reference-proxy/routes/cli-sessions.ts',
        find: 'if (roleOf(caller) !== CLI_SESSION_REVOKE_ROLE) {',
        replace: "if (roleOf(caller).endsWith('_viewer')) {",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'admin-key-may-not-list',
    rule: "a proxy_admin's CLI key has the admin view: it may list the CLI sessions",
    section: '10.7',
    mechanism: "the list takes the master key and proxy_admin_viewer keys only: a proxy admin's key gets 403",
    edits: [
      {
        file: 'reference-proxy/routes/cli-sessions.ts',
        find: 'if (!CLI_SESSION_LIST_ROLES.includes(roleOf(caller))) {',
        replace: "if (caller.kind !== 'master' && roleOf(caller) !== 'proxy_admin_viewer') {",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'registry-ignores-revocation',
    rule: "a revoked CLI key is refused with 401 by every route that takes a CLI key, the registry's own included",
    section: '10.7',
    mechanism:
      "the registry's routes authenticate without the revocation check: a proxy admin's revoked key still lists and revokes sessions",
    edits: [
      {
        file: 'reference-proxy/api-auth.ts',
        find: "export function authenticateApiCall(\n  ctx: ProxyContext,\n  req: Pick<IncomingMessage, 'headers'>,\n): ApiCaller | Promise<ApiCaller> {",
        replace:
          "export function authenticateApiCall(\n  ctx: ProxyContext,\n  req: Pick<IncomingMessage, 'headers'>,\n  checkRevocation = true,\n): ApiCaller | Promise<ApiCaller> {",
        fires: 'none',
      },
      {
        file: 'reference-proxy/api-auth.ts',
        find: 'if (remembered !== undefined) return cliKeyCaller(ctx, remembered);',
        replace: 'if (remembered !== undefined) return cliKeyCaller(ctx, remembered, checkRevocation);',
        fires: 'none',
      },
      {
        file: 'reference-proxy/api-auth.ts',
        find: 'return ctx.keys.verify(token).then((check) => cliKeyCaller(ctx, check));',
        replace: 'return ctx.keys.verify(token).then((check) => cliKeyCaller(ctx, check, checkRevocation));',
        fires: 'none',
      },
      {
        file: 'reference-proxy/api-auth.ts',
        find: 'function cliKeyCaller(ctx: ProxyContext, check: KeyCheck): ApiCaller | Promise<ApiCaller> {',
        replace:
          'function cliKeyCaller(ctx: ProxyContext, check: KeyCheck, checkRevocation = true): ApiCaller | Promise<ApiCaller> {',
        fires: 'none',
      },
      {
        file: 'reference-proxy/api-auth.ts',
        find: 'if (sessionId === undefined) return caller;',
        replace: 'if (sessionId === undefined || !checkRevocation) return caller;',
        fires: 'statement',
      },
      {
        file: 'reference-proxy/routes/cli-sessions.ts',
        find: 'const caller = await authenticateApiCall(ctx, req);\n    if (!CLI_SESSION_LIST_ROLES',
        replace: 'const caller = await authenticateApiCall(ctx, req, false);\n    if (!CLI_SESSION_LIST_ROLES',
        fires: 'none',
      },
      {
        file: 'reference-proxy/routes/cli-sessions.ts',
        find: 'const caller = await authenticateApiCall(ctx, req);\n  if (roleOf(caller) !== CLI_SESSION_REVOKE_ROLE)',
        replace:
          'const caller = await authenticateApiCall(ctx, req, false);\n  if (roleOf(caller) !== CLI_SESSION_REVOKE_ROLE)',
        fires: 'none',
      },
    ],
  },
  {
    name: 'user-info-own-master-check',
    rule: 'a revoked CLI key is refused with 401 by every route that takes a CLI key, /user/info included',
    section: '10.7',
    mechanism:
      'GET /user/info compares the bearer with the master key itself and answers 403 to anything else, a revoked key included',
    edits: [
      {
        file: 'reference-proxy/routes/user-info.ts',
        find: "import { authenticateApiCall } from '../api-auth.ts';\n",
        replace: '',
        fires: 'none',
      },
      {
        file: 'reference-proxy/routes/user-info.ts',
        find: "import { queryParam } from '../request-helpers.ts';",
        replace: "import { bearerToken, queryParam } from '../request-helpers.ts';",
        fires: 'none',
      },
      {
        file: 'reference-proxy/routes/user-info.ts',
        find: "const caller = await authenticateApiCall(ctx, req);\n    if (caller.kind !== 'master') {",
        replace:
          'const presented = bearerToken(req);\n    if (presented === undefined || !ctx.masterKey.matches(presented)) {',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'team-question-without-attribution',
    rule: "the team question (poll step 4) carries the login's attribution_metadata when it is not empty",
    section: '2.5',
    mechanism: 'the answer that asks for a team leaves attribution_metadata out; the answer with the key still has it',
    edits: [
      {
        file: 'protocol/cli-sso.ts',
        find: "return {\n      status: 'ready',\n      user_id: answer.userId,\n      teams: answer.teams,\n      team_details: teamDetails,\n      requires_team_selection: true,\n      ...attribution,\n    };",
        replace:
          "return {\n      status: 'ready',\n      user_id: answer.userId,\n      teams: answer.teams,\n      team_details: teamDetails,\n      requires_team_selection: true,\n    };",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'team-question-without-aliases',
    rule: 'the team question lists team_details as {team_id, team_alias}',
    section: '2.5',
    mechanism: "the team question's team_details carry team_id only; the answer with the key keeps team_alias",
    edits: [
      {
        file: 'protocol/cli-sso.ts',
        find: "return {\n      status: 'ready',\n      user_id: answer.userId,\n      teams: answer.teams,\n      team_details: teamDetails,\n      requires_team_selection: true,",
        replace:
          "return {\n      status: 'ready',\n      user_id: answer.userId,\n      teams: answer.teams,\n      team_details: answer.teamDetails.map((t) => ({ team_id: t.teamId })),\n      requires_team_selection: true,",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'refresh-first-team',
    rule: 'a refresh buys tokens for the user and the team of the consent it descends from',
    section: '10.6',
    mechanism: "a refresh re-reads the user and issues for the user's first team, not the team chosen at the consent",
    edits: [
      {
        file: 'reference-proxy/native-login/token.ts',
        find: 'const mint = await prepareTokens(ctx, refresh.grant);',
        replace:
          'const current = await ctx.users.get(refresh.grant.userId);\n  refresh.grant.teamId = current?.teams[0] ?? null;\n  const mint = await prepareTokens(ctx, refresh.grant);',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'consent-user-unescaped',
    rule: 'what the IdP says about the user appears on the consent page as text, never as markup',
    section: '10.6',
    mechanism: 'the consent page writes the user id (and email) into the page without HTML-escaping it',
    edits: [
      {
        file: 'reference-proxy/pages.ts',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the source's own template literal, as text
        find: '<strong data-testid="user-id">${escapeHtml(who)}</strong>',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the source's own template literal, as text
        replace: '<strong data-testid="user-id">${(__selfCheckFaultFired(), who)}</strong>',
        fires: 'none',
      },
    ],
  },
  {
    name: 'consent-team-list-unescaped',
    rule: 'what the IdP says about the user appears on the consent page as text, never as markup',
    section: '10.6',
    mechanism: "the consent page's team list writes each team's name into its option without HTML-escaping it",
    edits: [
      {
        file: 'reference-proxy/pages.ts',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the source's own template literal, as text
        find: '.map((t) => `<option value="${escapeHtml(t.teamId)}">${escapeHtml(t.teamAlias ?? t.teamId)}</option>`)',
        replace:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the source's own template literal, as text
          '.map((t) => `<option value="${escapeHtml(t.teamId)}">${(__selfCheckFaultFired(), t.teamAlias ?? t.teamId)}</option>`)',
        fires: 'none',
      },
    ],
  },
  {
    name: 'consent-one-team-unescaped',
    rule: 'what the IdP says about the user appears on the consent page as text, never as markup',
    section: '10.6',
    mechanism: "the consent page names a person's only team without HTML-escaping it (the hidden field is escaped)",
    edits: [
      {
        file: 'reference-proxy/pages.ts',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the source's own template literal, as text
        find: '<strong data-testid="team">${escapeHtml(onlyTeam.teamAlias ?? onlyTeam.teamId)}</strong>',
        replace:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the source's own template literal, as text
          '<strong data-testid="team">${(__selfCheckFaultFired(), onlyTeam.teamAlias ?? onlyTeam.teamId)}</strong>',
        fires: 'none',
      },
    ],
  },
  {
    name: 'revoked-key-detail-body',
    rule: 'a revoked CLI key is refused with 401 and LiteLLM\'s {"error": {...}} body',
    section: '10.7',
    mechanism: 'a revoked key is refused with 401 and a {"detail"} body, as the registry answers its own refusals',
    edits: [
      {
        file: 'reference-proxy/api-auth.ts',
        find: "import { apiError } from './http-errors.ts';",
        replace: "import { apiError, detailError } from './http-errors.ts';",
        fires: 'none',
      },
      {
        file: 'reference-proxy/api-auth.ts',
        find: "return apiError(401, 'auth_error', 'Authentication Error - This CLI session was revoked. Log in again.', 'key');",
        replace: "return detailError(401, 'This CLI session was revoked. Log in again.');",
        fires: 'statement',
      },
    ],
  },
  // Third round, the gateway's settings (docs/mutation.md): each one a setting read but not applied
  // everywhere it counts, or its default wrong.
  {
    name: 'email-attribute-ignored',
    rule: 'the stored email is the userinfo claim at GENERIC_USER_EMAIL_ATTRIBUTE',
    section: '4',
    mechanism: 'GENERIC_USER_EMAIL_ATTRIBUTE is read but the email always comes from the claim `email`',
    edits: [{ file: 'reference-proxy/config.ts', find: 's.emailAttribute', replace: "'email'", fires: 'expression' }],
  },
  {
    name: 'role-attribute-ignored',
    rule: 'the role claim is read at GENERIC_USER_ROLE_ATTRIBUTE',
    section: '4',
    mechanism: 'GENERIC_USER_ROLE_ATTRIBUTE is read but the role always comes from the claim `role`',
    edits: [{ file: 'reference-proxy/config.ts', find: 's.roleAttribute', replace: "'role'", fires: 'expression' }],
  },
  {
    name: 'experimental-login-on-by-default',
    rule: 'EXPERIMENTAL_UI_LOGIN is off unless set: CLI keys are refused, and the UI session lasts LITELLM_UI_SESSION_DURATION',
    section: '3',
    mechanism: 'EXPERIMENTAL_UI_LOGIN defaults to true when it is not set',
    edits: [
      {
        file: 'reference-proxy/config.ts',
        find: "variable: 'EXPERIMENTAL_UI_LOGIN',\n    default: false,",
        replace: "variable: 'EXPERIMENTAL_UI_LOGIN',\n    default: (__selfCheckFaultFired(), true),",
        fires: 'none',
      },
    ],
  },
  {
    name: 'ui-session-default-12h',
    rule: 'without EXPERIMENTAL_UI_LOGIN the UI session lasts LITELLM_UI_SESSION_DURATION, 24h when it is not set',
    section: '7',
    mechanism: "LITELLM_UI_SESSION_DURATION's default is 12h",
    edits: [
      {
        file: 'reference-proxy/config.ts',
        find: "default: '24h',",
        replace: "default: (__selfCheckFaultFired(), '12h'),",
        fires: 'none',
      },
    ],
  },
  {
    name: 'ui-login-without-pkce',
    rule: 'with GENERIC_CLIENT_USE_PKCE=true the IdP redirect carries an S256 code_challenge, for the admin UI sign-in too',
    section: '7',
    mechanism: 'PKCE is applied to CLI logins only: the admin UI sign-in sends no code challenge',
    edits: [
      {
        file: 'reference-proxy/routes/sso-key-generate.ts',
        find: 'const pkce = ctx.config.idp.usePkce ? newPkce() : undefined;',
        replace: 'const pkce: ReturnType<typeof newPkce> | undefined = undefined;',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'ui-login-verifier-dropped',
    rule: 'with GENERIC_CLIENT_USE_PKCE=true the admin UI sign-in still works: the code is redeemed with its verifier',
    section: '7',
    mechanism: "the admin UI sign-in's challenge is sent, but its verifier is not kept for the callback",
    edits: [
      {
        file: 'reference-proxy/routes/sso-key-generate.ts',
        find: 'const cookie = await ctx.uiSessions.createLoginState({ state, pkceVerifier: pkce?.verifier ?? null, returnTo });',
        replace: 'const cookie = await ctx.uiSessions.createLoginState({ state, pkceVerifier: null, returnTo });',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'ui-login-default-scope',
    rule: 'the IdP redirect asks for GENERIC_SCOPE, for the admin UI sign-in too',
    section: '7',
    mechanism: 'the admin UI sign-in always asks for `openid email profile`',
    edits: [
      {
        file: 'reference-proxy/routes/sso-key-generate.ts',
        find: 'res.redirect(303, authorizationUrl(ctx.config.idp, { redirectUri, state, codeChallenge: pkce?.challenge }));',
        replace:
          "res.redirect(303, authorizationUrl({ ...ctx.config.idp, scope: 'openid email profile' }, { redirectUri, state, codeChallenge: pkce?.challenge }));",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'domains-only-for-cli-logins',
    rule: 'under ALLOWED_EMAIL_DOMAINS a user of another domain is refused at the callback with 401, for the admin UI sign-in too',
    section: '7',
    mechanism: 'ALLOWED_EMAIL_DOMAINS is checked for CLI logins only: the admin UI signs anyone in',
    edits: [
      {
        file: 'reference-proxy/idp-sign-in.ts',
        find: 'if (!isEmailDomainAllowed(identity.email, ctx.config.allowedEmailDomains)) {',
        replace:
          "if (logFields['login_id'] !== undefined && !isEmailDomainAllowed(identity.email, ctx.config.allowedEmailDomains)) {",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'ui-login-ignores-base-url',
    rule: 'the IdP redirect carries redirect_uri={PROXY_BASE_URL}/sso/callback, for the admin UI sign-in too',
    section: '7',
    mechanism: "the admin UI sign-in builds its callback address from the request's host, not PROXY_BASE_URL",
    edits: [
      {
        file: 'reference-proxy/routes/sso-key-generate.ts',
        find: 'await startUiLogin(ctx, redirectUri, returnToOf(req), res);',
        replace:
          // biome-ignore lint/suspicious/noTemplateCurlyInString: the faulty source's template literal, as text
          "await startUiLogin(ctx, `${req.protocol}://${req.get('host')}${CLI_SSO_PATHS.callback}`, returnToOf(req), res);",
        fires: 'statement',
      },
    ],
  },
  {
    name: 'base-url-trailing-slash-doubled',
    rule: 'a trailing slash of PROXY_BASE_URL is not doubled: the callback address is {PROXY_BASE_URL}/sso/callback',
    section: '2.2',
    mechanism: 'PROXY_BASE_URL is used as written: `http://host/` gives `http://host//sso/callback`',
    edits: [
      {
        file: 'reference-proxy/config.ts',
        find: "publicBaseUrl: s.publicBaseUrl?.replace(/\\/+$/, ''),",
        replace: 'publicBaseUrl: (__selfCheckFaultFired(), s.publicBaseUrl),',
        fires: 'none',
      },
    ],
  },
  {
    name: 'native-expires-in-fixed',
    rule: "the PKCE-native token answer's expires_in is the CLI key lifetime (CLI_JWT_EXPIRATION_HOURS)",
    section: '10.6',
    mechanism: "the token answer's expires_in is always 24 hours, whatever the configured lifetime",
    edits: [
      {
        file: 'reference-proxy/native-login/token.ts',
        find: 'expires_in: issued.expiresInSeconds,',
        replace: 'expires_in: (__selfCheckFaultFired(), 24 * 3600),',
        fires: 'none',
      },
    ],
  },
  {
    name: 'native-key-default-lifetime',
    rule: 'the PKCE-native access token is a CLI key living CLI_JWT_EXPIRATION_HOURS',
    section: '10.6',
    mechanism: 'a key issued outside the classic poll (the PKCE-native access token) lives the default 24 hours',
    edits: [
      {
        file: 'reference-proxy/key-issuer.ts',
        find: 'const expiresAt = issuedAt + this.lifetimeSeconds;',
        replace: 'const expiresAt = issuedAt + (identity === undefined ? 24 * 3600 : this.lifetimeSeconds);',
        fires: 'statement',
      },
    ],
  },
  {
    name: 'complete-uri-request-host',
    rule: 'verification_uri_complete is the browser URL under the public base URL (PROXY_BASE_URL)',
    section: '10.8',
    mechanism: "verification_uri_complete is built on the request's host, not PROXY_BASE_URL",
    edits: [
      {
        file: 'reference-proxy/routes/cli-start.ts',
        find: 'const url = new URL(browserLoginUrl(publicBaseUrl(req, ctx.config), loginId));',
        // biome-ignore lint/suspicious/noTemplateCurlyInString: the faulty source's template literal, as text
        replace: "const url = new URL(browserLoginUrl(`${req.protocol}://${req.get('host')}`, loginId));",
        fires: 'statement',
      },
    ],
  },
];

export function findSourceFault(name: string): SourceFault | undefined {
  return SOURCE_FAULTS.find((fault) => fault.name === name);
}

export class SourceFaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceFaultError';
  }
}

/** `text` with the fault's edits to `file`; throws when a `find` is not there exactly once. */
export function applyEdits(fault: SourceFault, file: string, text: string): string {
  let result = text;
  for (const edit of fault.edits.filter((e) => e.file === file)) {
    const count = result.split(edit.find).length - 1;
    if (count !== 1) {
      throw new SourceFaultError(
        `fault ${fault.name}: ${file} holds the text to replace ${count} times, not once (${JSON.stringify(edit.find.slice(0, 60))}); update the fault to the current source`,
      );
    }
    const replacement =
      edit.fires === 'statement'
        ? `__selfCheckFaultFired(); ${edit.replace}`
        : edit.fires === 'expression'
          ? `(__selfCheckFaultFired(), ${edit.replace})`
          : edit.replace;
    result = result.replace(edit.find, () => replacement);
  }
  return result;
}

/** Every edit applies to the current source (for the tests and before a run). */
export async function checkSourceFaults(
  rootDir: string,
  faults: readonly SourceFault[] = SOURCE_FAULTS,
): Promise<void> {
  for (const fault of faults) {
    for (const file of new Set(fault.edits.map((e) => e.file))) {
      applyEdits(fault, file, await readFile(join(rootDir, file), 'utf8'));
    }
  }
}

/**
 * Logs `fault_fired` once per process, as the relays log each firing: enough for the self-check to
 * know the faulty code ran; one line, so a fault on the hot path does not flood the gateway's log.
 */
const FIRED_BANNER = `
let __selfCheckFaultFiredOnce = false;
function __selfCheckFaultFired() {
  if (__selfCheckFaultFiredOnce) return;
  __selfCheckFaultFiredOnce = true;
  process.stderr.write(JSON.stringify({ time: new Date().toISOString(), level: 'warn', component: 'self-check', event: ${JSON.stringify(FAULT_FIRED_EVENT)} }) + '\\n');
}
`;

/** Bundles the reference gateway with one fault, as the suite's embedded default is bundled. */
export async function buildFaultyGateway(rootDir: string, fault: SourceFault, outfile: string): Promise<void> {
  const files = new Set(fault.edits.map((e) => e.file));
  const plugin: Plugin = {
    name: 'self-check-source-fault',
    setup(esbuild) {
      esbuild.onLoad({ filter: /\.ts$/ }, async (args) => {
        const file = relative(rootDir, args.path).split(sep).join('/');
        if (!files.has(file)) return undefined;
        return { contents: applyEdits(fault, file, await readFile(args.path, 'utf8')), loader: 'ts' };
      });
    },
  };
  await build({
    entryPoints: [join(rootDir, 'reference-proxy/main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    outfile,
    external: ['better-sqlite3', 'pg-native'],
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: `const importMetaUrl = require('node:url').pathToFileURL(__filename).href;\n${FIRED_BANNER}` },
    plugins: [plugin],
    logLevel: 'silent',
  });
}
