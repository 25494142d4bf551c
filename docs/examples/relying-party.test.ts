// A relying party's tests against the mock IdP: run with `node --test`.
import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { type MockIdp, startMockIdp } from 'cli-sso-harness/mock-idp';

// ---- The relying party under test: in your project, import your own instead. ------------------
// It signs users in with the authorization code flow: discovery, token endpoint, userinfo.
const CLIENT = { id: 'my-app', secret: 'my-app-secret', redirectUri: 'http://127.0.0.1:3000/callback' };

function relyingParty(issuer: string) {
  const discovery = async () => (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  return {
    async authorizationUrl(state: string): Promise<string> {
      const url = new URL((await discovery()).authorization_endpoint);
      url.search = new URLSearchParams({
        client_id: CLIENT.id,
        response_type: 'code',
        redirect_uri: CLIENT.redirectUri,
        scope: 'openid email profile',
        state,
      }).toString();
      return url.toString();
    },
    async handleCallback(callback: URL): Promise<Record<string, unknown>> {
      const error = callback.searchParams.get('error');
      if (error) throw new Error(`the IdP refused the login: ${error}`);
      const { token_endpoint, userinfo_endpoint } = await discovery();
      const answer = await fetch(token_endpoint, {
        method: 'POST',
        headers: { authorization: `Basic ${btoa(`${CLIENT.id}:${CLIENT.secret}`)}` },
        body: new URLSearchParams({
          grant_type: 'authorization_code',
          code: callback.searchParams.get('code') ?? '',
          redirect_uri: CLIENT.redirectUri,
        }),
      });
      if (!answer.ok) throw new Error(`the token endpoint answered ${answer.status}`);
      const tokens = await answer.json();
      // A real relying party also checks the signature (jose's jwtVerify with the IdP's JWKS).
      const idToken = JSON.parse(Buffer.from(tokens.id_token.split('.')[1], 'base64url').toString());
      if (idToken.exp * 1000 < Date.now()) throw new Error('the id_token has expired');
      const userinfo = await fetch(userinfo_endpoint, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      return userinfo.json();
    },
  };
}
// -------------------------------------------------------------------------------------------------

let idp: MockIdp;

before(async () => {
  // A free port on 127.0.0.1; the client is the relying party's registration at the IdP.
  idp = await startMockIdp({
    clients: [
      {
        clientId: CLIENT.id,
        clientSecret: CLIENT.secret,
        redirectUris: [CLIENT.redirectUri],
        authMethod: 'client_secret_basic',
        requirePkce: false,
      },
    ],
  });
});

// Each test starts from the IdP as it started: its users, no faults, an empty journal, its clock.
beforeEach(() => idp.reset());

after(() => idp.close());

test('a user signs in and the relying party gets her claims', async () => {
  idp.users.put({
    username: 'dana',
    claims: { sub: 'dana', email: 'dana@example.com', groups: ['ops', 'billing'], org_info: { department: 'Ops' } },
  });
  const rp = relyingParty(idp.issuer);

  // The browser's part: sign in as dana on the IdP's login page, and come back with a code.
  const callback = await idp.signIn(await rp.authorizationUrl('state-1'), { username: 'dana' });
  assert.equal(callback.searchParams.get('state'), 'state-1');

  const claims = await rp.handleCallback(callback);
  assert.equal(claims.email, 'dana@example.com');
  assert.deepEqual(claims.groups, ['ops', 'billing']);
  assert.deepEqual(claims.org_info, { department: 'Ops' });

  // The journal shows what the relying party sent; secrets such as the code are redacted.
  const [exchange] = idp.journal.requests({ endpoint: 'token' });
  assert.equal(exchange?.status, 200);
  assert.equal(exchange?.clientId, CLIENT.id);
  assert.equal(exchange?.params?.grant_type, 'authorization_code');
  assert.equal(exchange?.params?.code, '[redacted]');
});

test('a claim changed at the IdP shows at the next login', async () => {
  const rp = relyingParty(idp.issuer);
  idp.users.mergeClaims('alice', { org_info: { department: 'Sales' } });

  const claims = await rp.handleCallback(await idp.signIn(await rp.authorizationUrl('s'), { username: 'alice' }));
  assert.deepEqual(claims.org_info, { department: 'Sales' });
});

test('a refused code exchange is an error, not a login', async () => {
  const rp = relyingParty(idp.issuer);
  // The next request to the token endpoint fails as RFC 6749 says: 400 {"error":"invalid_grant"}.
  idp.faults.inject({ endpoint: 'token', kind: 'oauth_error', error: 'invalid_grant' });

  const callback = await idp.signIn(await rp.authorizationUrl('s'), { username: 'alice' });
  await assert.rejects(rp.handleCallback(callback), /the token endpoint answered 400/);

  const [exchange] = idp.journal.requests({ endpoint: 'token' });
  assert.equal(exchange?.fault, 'oauth_error');
  assert.deepEqual(idp.faults.list(), []); // it fired once, and is gone
});

test('an id_token from an IdP whose clock is two hours behind is refused', async () => {
  const rp = relyingParty(idp.issuer);
  // The id_token lives one hour: issued "two hours ago", it expired an hour ago.
  idp.setClockOffsetSeconds(-2 * 3600);

  const callback = await idp.signIn(await rp.authorizationUrl('s'), { username: 'alice' });
  await assert.rejects(rp.handleCallback(callback), /the id_token has expired/);
});

test('an authorization error comes back to the relying party, which refuses the login', async () => {
  const rp = relyingParty(idp.issuer);
  idp.faults.inject({ endpoint: 'authorization', kind: 'oauth_error', error: 'access_denied' });

  const callback = await idp.signIn(await rp.authorizationUrl('s'), { username: 'alice' });
  assert.equal(callback.searchParams.get('error'), 'access_denied');
  await assert.rejects(rp.handleCallback(callback), /the IdP refused the login: access_denied/);
});
