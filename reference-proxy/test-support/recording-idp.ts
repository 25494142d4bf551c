/**
 * Test support: a tiny OAuth 2.0 / OIDC authorization server that records every request it gets,
 * so component tests can check what crossed the wire (architecture.md, convention 12): PKCE
 * (RFC 7636), client authentication by Basic or body (RFC 6749 section 2.3.1), redirect URIs, and
 * the proxy's handling of IdP failures. Authorization is approved at once for the current user.
 * For the real IdP the suite uses, see mock-idp/ (walk.test.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import express from 'express';
import { listen } from '../../common/http-server.ts';

export interface RecordedRequest {
  path: string;
  query: Record<string, string>;
  form: Record<string, string>;
  authorization: string | undefined;
}

export interface RecordingIdp {
  endpoints: { authorization: string; token: string; userinfo: string };
  requests: RecordedRequest[];
  /** The userinfo answer for the next logins. */
  userinfo: Record<string, unknown>;
  /** Make the next token request fail with this OAuth error. */
  failNextToken: string | undefined;
  /** Make the next authorization answer with `error=...` instead of a code. */
  denyNextAuthorization: string | undefined;
  close(): Promise<void>;
}

interface IssuedCode {
  redirectUri: string;
  codeChallenge: string | undefined;
  userinfo: Record<string, unknown>;
}

export async function startRecordingIdp(options: {
  clientId: string;
  clientSecret: string;
  userinfo: Record<string, unknown>;
}): Promise<RecordingIdp> {
  const codes = new Map<string, IssuedCode>();
  const accessTokens = new Map<string, Record<string, unknown>>();
  const app = express();
  const idp: RecordingIdp = {
    endpoints: { authorization: '', token: '', userinfo: '' },
    requests: [],
    userinfo: options.userinfo,
    failNextToken: undefined,
    denyNextAuthorization: undefined,
    close: async () => {},
  };
  const record = (req: express.Request) => {
    const query = Object.fromEntries(Object.entries(req.query).map(([k, v]) => [k, String(v)]));
    const form =
      typeof req.body === 'object' && req.body !== null
        ? Object.fromEntries(Object.entries(req.body as Record<string, unknown>).map(([k, v]) => [k, String(v)]))
        : {};
    idp.requests.push({ path: req.path, query, form, authorization: req.get('authorization') });
  };

  app.get('/authorize', (req, res) => {
    record(req);
    const redirect = new URL(String(req.query['redirect_uri']));
    redirect.searchParams.set('state', String(req.query['state'] ?? ''));
    if (idp.denyNextAuthorization !== undefined) {
      redirect.searchParams.set('error', idp.denyNextAuthorization);
      idp.denyNextAuthorization = undefined;
    } else {
      const code = randomBytes(16).toString('base64url');
      const challenge = req.query['code_challenge'];
      codes.set(code, {
        redirectUri: String(req.query['redirect_uri']),
        codeChallenge: typeof challenge === 'string' ? challenge : undefined,
        userinfo: structuredClone(idp.userinfo),
      });
      redirect.searchParams.set('code', code);
    }
    res.redirect(302, redirect.toString());
  });

  app.post('/token', express.urlencoded({ extended: false }), (req, res) => {
    record(req);
    const form = req.body as Record<string, string | undefined>;
    const fail = (status: number, error: string) => res.status(status).json({ error });
    if (idp.failNextToken !== undefined) {
      const error = idp.failNextToken;
      idp.failNextToken = undefined;
      return fail(400, error);
    }
    if (!clientAuthenticated(req.get('authorization'), form, options)) return fail(401, 'invalid_client');
    const issued = codes.get(form['code'] ?? '');
    codes.delete(form['code'] ?? '');
    if (!issued || issued.redirectUri !== form['redirect_uri']) return fail(400, 'invalid_grant');
    if (issued.codeChallenge !== undefined) {
      const verifier = form['code_verifier'] ?? '';
      const computed = createHash('sha256').update(verifier).digest('base64url');
      if (computed !== issued.codeChallenge) return fail(400, 'invalid_grant');
    }
    const accessToken = randomBytes(16).toString('base64url');
    accessTokens.set(accessToken, issued.userinfo);
    return res.json({ access_token: accessToken, token_type: 'Bearer', expires_in: 600 });
  });

  app.get('/userinfo', (req, res) => {
    record(req);
    const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1] ?? '';
    const userinfo = accessTokens.get(token);
    if (!userinfo) return res.status(401).json({ error: 'invalid_token' });
    return res.json(userinfo);
  });

  const server = await listen(app, '127.0.0.1', 0);
  idp.endpoints = {
    authorization: `${server.url}/authorize`,
    token: `${server.url}/token`,
    userinfo: `${server.url}/userinfo`,
  };
  idp.close = () => server.close();
  return idp;
}

function clientAuthenticated(
  authorization: string | undefined,
  form: Record<string, string | undefined>,
  client: { clientId: string; clientSecret: string },
): boolean {
  const basic = /^Basic (.+)$/.exec(authorization ?? '')?.[1];
  if (basic !== undefined) {
    const [id, secret] = Buffer.from(basic, 'base64').toString('utf8').split(':').map(decodeURIComponent);
    return id === client.clientId && secret === client.clientSecret;
  }
  return form['client_id'] === client.clientId && form['client_secret'] === client.clientSecret;
}
