/**
 * The IdP's HTML pages. They are accessible (every input labelled, every button named) because the
 * suite's page objects find things by role and label (architecture.md, convention 9). The login
 * page's names are a contract: heading "Sign in to Mock IdP", buttons "Sign in as <username>", inputs
 * "Username" and "Password", buttons "Sign in" and "Deny", errors in role="alert".
 */
import escapeHtml from 'escape-html';
import { htmlPage } from '../common/html-page.ts';

const MOCK_IDP_CSS = `
body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}
form{margin:1rem 0}label{display:block;margin:.5rem 0 .2rem}input{width:100%;padding:.4rem;box-sizing:border-box}
button{margin:.3rem 0;padding:.4rem .8rem}ul{list-style:none;padding:0}[role=alert]{color:#a00;font-weight:bold}
`;

function page(title: string, body: string): string {
  return htmlPage({ title, body, css: MOCK_IDP_CSS });
}

function alert(message: string | undefined): string {
  return message ? `<p role="alert">${escapeHtml(message)}</p>` : '';
}

export interface LoginPageModel {
  /** The interaction's uid; forms post under `/interaction/<uid>` so its cookie is sent. */
  uid: string;
  clientId: string;
  usernames: readonly string[];
  error?: string;
  /** Pre-filled username (e.g. after a failed attempt or from login_hint of an unknown user). */
  username?: string;
}

export function loginPage(model: LoginPageModel): string {
  const base = `/interaction/${encodeURIComponent(model.uid)}`;
  const quickButtons = model.usernames
    .map(
      (name) =>
        `<li><button type="submit" name="username" value="${escapeHtml(name)}">Sign in as ${escapeHtml(name)}</button></li>`,
    )
    .join('\n');
  return page(
    'Sign in to Mock IdP',
    `<h1>Sign in to Mock IdP</h1>
<p>Application <strong>${escapeHtml(model.clientId)}</strong> asks you to sign in.</p>
${alert(model.error)}
<section>
<h2>Choose a user</h2>
<form method="post" action="${base}/login">
<input type="hidden" name="method" value="quick">
<ul>
${quickButtons}
</ul>
</form>
</section>
<section>
<h2>Or sign in with a password</h2>
<form method="post" action="${base}/login">
<input type="hidden" name="method" value="password">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" value="${escapeHtml(model.username ?? '')}" required>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button>
</form>
</section>
<form method="post" action="${base}/deny">
<button type="submit">Deny</button>
</form>`,
  );
}

export function errorPage(title: string, fields: Record<string, string | undefined>): string {
  const rows = Object.entries(fields)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([name, value]) => `<dt>${escapeHtml(name)}</dt><dd>${escapeHtml(value)}</dd>`)
    .join('');
  return page(title, `<h1>${escapeHtml(title)}</h1>\n<div role="alert"><dl>${rows}</dl></div>`);
}

/** Device flow (RFC 8628 section 3.3): the page where the user types the code shown on the device. */
export function deviceCodeInputPage(providerForm: string, error?: string): string {
  // oidc-provider builds the form (it carries the CSRF token); its input only needs a label.
  const form = providerForm.replace('name="user_code"', 'name="user_code" id="user_code"');
  return page(
    'Device sign-in',
    `<h1>Device sign-in</h1>
${alert(error)}
<label for="user_code">Code shown on your device</label>
${form}
<button type="submit" form="op.deviceInputForm">Continue</button>`,
  );
}

export function deviceConfirmPage(providerForm: string, clientId: string, userCode: string): string {
  return page(
    'Confirm device',
    `<h1>Confirm device</h1>
<p>Application <strong>${escapeHtml(clientId)}</strong> shows the code <code>${escapeHtml(userCode)}</code>.</p>
${providerForm}
<button type="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`,
  );
}

export function deviceSuccessPage(clientId: string): string {
  return page(
    'Device signed in',
    `<h1>Device signed in</h1>\n<p>${escapeHtml(clientId)} is signed in. You can close this page.</p>`,
  );
}

/** RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0 section 2). */
export function logoutPage(providerForm: string): string {
  return page(
    'Sign out',
    `<h1>Sign out of Mock IdP?</h1>
${providerForm}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<button type="submit" form="op.logoutForm">Stay signed in</button>`,
  );
}

export function logoutSuccessPage(): string {
  return page('Signed out', '<h1>Signed out</h1>\n<p>You are signed out of Mock IdP.</p>');
}
