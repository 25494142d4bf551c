/**
 * An IdP whose token and userinfo answers the fuzzer writes, one script per login: the gateway's
 * callback then meets broken, hostile and odd IdP answers (a userinfo with a 20,000-character user
 * id, an email with a Kelvin sign, `__proto__` claims, a token answer that is not JSON...). The
 * authorization code the fuzzer puts in the callback names the script; the access token handed out
 * for it leads to the same script at userinfo.
 *
 * Plain node:http: nothing here should be clever, since the gateway is what is being judged.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listen, type RunningServer } from '../../common/http-server.ts';

export interface ScriptedAnswer {
  status: number;
  contentType: string;
  /** `{{access_token}}` is replaced by the token this login gets. */
  body: string;
  /** Close the connection without answering. */
  drop?: boolean;
}

export interface IdpScript {
  token: ScriptedAnswer;
  userinfo: ScriptedAnswer;
}

export class ScriptedIdp {
  private readonly byCode = new Map<string, IdpScript>();
  private readonly byToken = new Map<string, IdpScript>();
  /** Secrets it handed out (access tokens), for the log oracle. */
  onSecret: (value: string, kind: 'access token') => void = () => {};

  private constructor(private readonly server: RunningServer) {}

  static async start(): Promise<ScriptedIdp> {
    let idp: ScriptedIdp | undefined;
    const server = await listen((req, res) => idp?.handle(req, res), '127.0.0.1', 0);
    idp = new ScriptedIdp(server);
    return idp;
  }

  get url(): string {
    return this.server.url;
  }

  get endpoints(): { authorization: string; token: string; userinfo: string } {
    return {
      authorization: `${this.url}/authorize`,
      token: `${this.url}/token`,
      userinfo: `${this.url}/userinfo`,
    };
  }

  /** The authorization code that plays this script. */
  register(script: IdpScript): string {
    const code = `scripted-${randomBytes(18).toString('base64url')}`;
    this.byCode.set(code, script);
    return code;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', this.url);
      if (url.pathname === '/token') {
        const code = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('code') ?? '';
        const script = this.byCode.get(code);
        this.byCode.delete(code);
        if (!script)
          return answer(res, { status: 400, contentType: 'application/json', body: '{"error":"invalid_grant"}' });
        const token = randomBytes(24).toString('base64url');
        this.onSecret(token, 'access token');
        this.byToken.set(token, script);
        return answer(res, { ...script.token, body: script.token.body.replaceAll('{{access_token}}', token) });
      }
      if (url.pathname === '/userinfo') {
        const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
        const script = this.byToken.get(token);
        this.byToken.delete(token);
        if (!script)
          return answer(res, { status: 401, contentType: 'application/json', body: '{"error":"invalid_token"}' });
        return answer(res, script.userinfo);
      }
      if (url.pathname === '/authorize') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('scripted IdP: the fuzzer plays the browser');
        return;
      }
      res.writeHead(404).end();
    });
  }

  close(): Promise<void> {
    return this.server.close();
  }
}

function answer(res: ServerResponse, a: ScriptedAnswer): void {
  if (a.drop) {
    res.socket?.destroy();
    return;
  }
  res.writeHead(a.status, { 'content-type': a.contentType }).end(a.body);
}
