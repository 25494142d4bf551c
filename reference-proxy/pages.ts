/**
 * The HTML the browser sees (docs/contract.md section 2): the "Complete CLI Login" form, the
 * success page, error pages and the small admin UI page (section 7). Every value is HTML-escaped;
 * every input has a visible label and every button a name (architecture.md, convention 9: roles and
 * labels are also the test contract).
 */
import { createHash } from 'node:crypto';
import escapeHtml from 'escape-html';
import { htmlPage } from '../common/html-page.ts';
import { CLI_SSO_PATHS } from '../protocol/cli-sso.ts';

const GATEWAY_CSS = `
  body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5; }
  label { display: block; font-weight: 600; margin-bottom: .25rem; }
  input[type=text] { font: inherit; font-family: ui-monospace, monospace; letter-spacing: .1em; padding: .4rem; width: 12rem; }
  button { font: inherit; margin-top: 1rem; padding: .4rem 1rem; }
`;

function page(title: string, body: string): string {
  return htmlPage({ title, body, css: GATEWAY_CSS, noReferrer: true });
}

/**
 * The headers every page goes out with (reference choice, CLISSO-CALLBACK-07). The pages load
 * nothing and run no script: the policy allows their one inline style (by its hash) and posting the
 * form back to the gateway, and nothing else; no site may frame them (clickjacking the code form),
 * no browser may guess another type, and no Referer carries the login id or the IdP's code away.
 */
export const PAGE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': [
    "default-src 'none'",
    `style-src '${inlineStyleHash(page('', ''))}'`,
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
  ].join('; '),
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** CSP hash source of a page's <style> element (CSP Level 3, section 8.4): its exact text. */
function inlineStyleHash(html: string): string {
  const style = /<style>([\s\S]*?)<\/style>/.exec(html)?.[1] ?? '';
  return `sha256-${createHash('sha256').update(style, 'utf8').digest('base64')}`;
}

export const CLI_LOGIN_TITLE = 'LiteLLM CLI Login';

/** The callback's answer: the user types the code their terminal shows (section 2, GET /sso/callback). */
export function completeCliLoginPage(options: {
  loginId: string;
  browserCompleteToken: string;
  userEmail: string | null;
  userId: string;
  /** The code verification_uri_complete carried (section 10.8): shown in the field, still to confirm. */
  prefilledCode?: string | undefined;
}): string {
  const who = options.userEmail ?? options.userId;
  const prefilled = options.prefilledCode;
  const instruction =
    prefilled === undefined
      ? 'Enter the verification code shown in your terminal to finish signing in the CLI.'
      : 'Confirm the verification code below to finish this login: check that it is the code shown in your terminal.';
  const value = prefilled === undefined ? '' : ` value="${escapeHtml(prefilled)}"`;
  return page(
    CLI_LOGIN_TITLE,
    `<h1>Complete CLI Login</h1>
<p>Signed in as <strong>${escapeHtml(who)}</strong>. ${instruction}</p>
<form method="post" action="${escapeHtml(CLI_SSO_PATHS.complete(options.loginId))}">
  <input type="hidden" name="browser_complete_token" value="${escapeHtml(options.browserCompleteToken)}">
  <label for="user_code">Verification code</label>
  <input type="text" id="user_code" name="user_code" autocomplete="one-time-code" autocapitalize="characters"
         spellcheck="false" required placeholder="XXXX-XXXX" aria-describedby="user_code_hint"${value}>
  <p id="user_code_hint">The code looks like ABCD-EF23; dashes and case do not matter.</p>
  <button type="submit">Complete login</button>
</form>`,
  );
}

export function cliLoginSuccessPage(): string {
  return page(
    CLI_LOGIN_TITLE,
    `<h1>Authentication Successful!</h1>
<p>Your CLI is now signed in. You can close this window and return to your terminal.</p>`,
  );
}

export interface UiSessionView {
  userId: string;
  email: string | null;
  role: string;
  expiresAtMs: number;
  nowMs: number;
}

/** The admin UI's landing page (section 7): who is signed in and when the session ends. */
export function uiHomePage(session: UiSessionView | undefined, signInPath: string): string {
  // mutation-equivalent: the contract judges the admin UI's session and what it shows signed in (section 7),
  // not the page a signed-out browser gets
  if (!session) {
    return page(
      'LiteLLM Admin UI',
      `<h1>LiteLLM Admin UI</h1>
<p>You are not signed in.</p>
<p><a href="${escapeHtml(signInPath)}">Sign in with SSO</a></p>`,
    );
  }
  const endsAt = new Date(session.expiresAtMs).toISOString();
  // mutation-equivalent: the minutes shown on the admin UI page are words for the person; the suite judges the
  // session by its cookie and by who the page names (section 7)
  const minutesLeft = Math.max(0, Math.round((session.expiresAtMs - session.nowMs) / 60000));
  return page(
    'LiteLLM Admin UI',
    `<h1>LiteLLM Admin UI</h1>
<dl>
  <dt>Signed in as</dt><dd data-testid="user-id">${escapeHtml(session.userId)}</dd>
  <dt>Email</dt><dd data-testid="user-email">${escapeHtml(session.email ?? '(none)')}</dd>
  <dt>Role</dt><dd data-testid="user-role">${escapeHtml(session.role)}</dd>
  <dt>Session ends</dt><dd><time data-testid="session-ends" datetime="${endsAt}">${endsAt}</time> (in about ${minutesLeft} minutes)</dd>
</dl>`,
  );
}

export const CONSENT_TITLE = 'Authorize CLI access - LiteLLM';

/** What the consent page of the PKCE-native login shows and posts back. */
export interface ConsentView {
  /** Origin of the client's redirect URI: where the credential will go. */
  clientOrigin: string;
  userId: string;
  userEmail: string | null;
  /** Hours the access token lives. */
  credentialHours: number;
  /** The teams the user may pick from, with their aliases when known. */
  teams: ReadonlyArray<{ teamId: string; teamAlias: string | null }>;
  /** Where the form posts (the public base URL's /authorize/complete). */
  action: string;
  /** The sealed flow handle. */
  flow: string;
}

/**
 * The consent page (docs/contract.md section 10.6): who asks, as whom, for how
 * long, the team choice (none without teams, a hidden field with one, a select with several) and
 * the two buttons.
 */
export function consentPage(view: ConsentView): string {
  let teamField = '';
  const [onlyTeam] = view.teams;
  if (view.teams.length === 1 && onlyTeam) {
    teamField = `<input type="hidden" name="team_id" value="${escapeHtml(onlyTeam.teamId)}">
<p>Requests will be attributed to team <strong data-testid="team">${escapeHtml(onlyTeam.teamAlias ?? onlyTeam.teamId)}</strong>.</p>`;
  } else if (view.teams.length > 1) {
    const options = view.teams
      .map((t) => `<option value="${escapeHtml(t.teamId)}">${escapeHtml(t.teamAlias ?? t.teamId)}</option>`)
      .join('');
    teamField = `<label for="team_id">Team for this credential</label>
<select id="team_id" name="team_id" required>${options}</select>`;
  }
  const who = view.userEmail === null ? view.userId : `${view.userId} (${view.userEmail})`;
  return page(
    CONSENT_TITLE,
    `<h1>Authorize CLI access</h1>
<p>A command-line program receiving at <strong data-testid="client-origin">${escapeHtml(view.clientOrigin)}</strong> asks to use this gateway as <strong data-testid="user-id">${escapeHtml(who)}</strong>.</p>
<p>If you approve, it gets a personal credential valid for ${view.credentialHours} hours, which it can renew until it signs out. Approve only if you started this sign-in yourself.</p>
<form method="post" action="${escapeHtml(view.action)}">
  <input type="hidden" name="flow" value="${escapeHtml(view.flow)}">
  ${teamField}
  <button type="submit" name="decision" value="deny">Deny</button>
  <button type="submit" name="decision" value="approve">Approve</button>
</form>`,
  );
}

/**
 * The consent page's headers: the pages' own, but the form may also be sent on to the client's
 * redirect URI, whose origin `form-action` must name (browsers apply it to the redirect after a post).
 */
export function consentPageHeaders(clientOrigin: string): Record<string, string> {
  const csp = PAGE_SECURITY_HEADERS['content-security-policy']?.replace(
    "form-action 'self'",
    `form-action 'self' ${clientOrigin}`,
  );
  return { ...PAGE_SECURITY_HEADERS, 'content-security-policy': csp ?? '' };
}
