/**
 * KNOWN FINDINGS: inputs the fuzzer found that failed an oracle. Each is replayed, on fresh servers,
 * at the start of every run of its endpoint and reported as OPEN (still fails) or FIXED; failures of
 * the generated inputs that are the same bug are labelled with its id. An open finding makes the
 * run exit 1, like any failure.
 *
 * To be fixed by the owners of mock-idp/ and reference-proxy/. When one is fixed, its replay says
 * FIXED: keep the entry, as a regression case.
 *
 * `recipe` is the endpoint's input as data (see the endpoint in gateway.ts, mock-idp.ts or
 * users-file.ts). A generated failure is labelled with a finding when it is on one of `appliesTo`,
 * one of its problems matches `matches`, and `request` (if given) recognises its request.
 */
import { asLatin1 } from './wire.ts';

export interface KnownFinding {
  id: string;
  /** The endpoint whose input `recipe` is. */
  endpoint: string;
  title: string;
  /** What happens, for the lead: the request and the answer, in words. */
  detail: string;
  recipe: unknown;
  matches: RegExp;
  appliesTo: RegExp;
  request?: (request: RequestDescription) => boolean;
  /**
   * The bug leaves the server broken for what follows: after each such failure the servers are
   * replaced. Other known failures of a stateful endpoint are only counted (a restart costs keys).
   */
  poisons?: boolean;
}

/** The printable request of a failure (engine.ts: describeRequest). */
export interface RequestDescription {
  method?: unknown;
  target?: unknown;
  headers?: unknown;
  body?: unknown;
}

function header(request: RequestDescription, name: string): string | undefined {
  const headers = Array.isArray(request.headers) ? (request.headers as string[]) : [];
  const line = headers.find((h) => h.toLowerCase().startsWith(`${name}: `));
  return line?.slice(name.length + 2);
}

/** A Host header no URL can be made of (read as the server reads it: the bytes, as latin1). */
function badHost(request: RequestDescription): boolean {
  const host = header(request, 'host');
  if (host === undefined) return false;
  try {
    return new URL(`http://${asLatin1(host)}/`).host === '';
  } catch {
    return true;
  }
}

const target = (request: RequestDescription): string => String(request.target ?? '');

/** The fuzzed request got a 500, or a server logged one for it (the answer may then be another). */
const ANSWERED_500 = /^answered 500$|answered 500 to /;

export const KNOWN_FINDINGS: KnownFinding[] = [
  {
    id: 'F1',
    endpoint: 'idp:discovery',
    title: 'mock IdP: a Host header that is not a valid host answers 500',
    detail:
      'GET /.well-known/openid-configuration with "Host: %" (also "a b", "[::1", "x:99999") answers ' +
      '500 {"error":"server_error","error_description":"oops! something went wrong"}; so do ' +
      '/authorize/{uid} and the other oidc-provider routes, which build URLs from the Host header. ' +
      'A client mistake: 400.',
    recipe: { mutations: [{ op: 'header.set', name: 'host', value: '%' }] },
    matches: ANSWERED_500,
    appliesTo: /^idp:/,
    request: (r) => badHost(r) && !target(r).startsWith('/device'),
  },
  {
    id: 'F2',
    endpoint: 'idp:device-auth',
    title: 'mock IdP: GET /device/auth, GET /device/{anything} and POST /device without its cookie answer 500',
    detail:
      'GET /device/auth answers 500 "Internal Server Error" (text/plain) and koa prints ' +
      '"TypeError: persist can only be called on previously persisted Sessions" (oidc-provider ' +
      'lib/helpers/initialize_app.js ensureSessionSave, reached through mock-idp/provider-middleware.ts). ' +
      'Same for GET /device/x, GET /device/openid-configuration and POST /device (a form, no device-flow ' +
      'cookie). A wrong method or a missing session: 4xx.',
    recipe: { mutations: [{ op: 'method', value: 'GET' }] },
    matches: ANSWERED_500,
    appliesTo: /^idp:/,
    request: (r) => /^\/device(\/|\?|$)/i.test(target(r)),
  },
  {
    id: 'F3',
    endpoint: 'ctl:claims',
    title: 'mock IdP control API: a deeply nested JSON body answers 500 (RangeError)',
    detail:
      'PUT /_mock/users/alice/claims (Authorization: Bearer <control token>, application/json) with ' +
      'the body [[[...1...]]] nested 20,000 deep (40 KB, under the 1 MB limit) answers 500 ' +
      '{"error":"server_error"} and logs control_api.error RangeError "Maximum call stack size exceeded". ' +
      'Same on PUT /_mock/users, POST /_mock/faults and PUT /_mock/clock (there the error message ' +
      'builder stringifies the value: {"a":{"a":...}} 100,000 deep). Bad input: 400 naming a depth limit.',
    recipe: {
      op: 'PUT',
      claims: { department: 'Sales' },
      mutations: [{ op: 'body.deep', depth: 20_000, kind: 'array' }],
      probe: 'none',
      user: 'alice',
    },
    matches: ANSWERED_500,
    appliesTo: /^ctl:/,
    request: (r) => /^(\[{64}|(\{"a":){64})/.test(String(r.body ?? '')),
  },
  {
    id: 'F4',
    endpoint: 'ctl:claims',
    title: 'mock IdP: a claim named "constructor" breaks token requests, and /_mock/reset does not repair it',
    detail:
      'PUT /_mock/users/carol/claims {"constructor":"x"} answers 200; then a sign-in of carol gets ' +
      'POST /token 500 {"error":"server_error"}; and after POST /_mock/reset, GET /userinfo for alice ' +
      'answers 200 with only sub and email: preferred_username, name, org_info, groups, teams... are ' +
      'gone (the released claim names stay poisoned for the life of the process).',
    recipe: { op: 'PUT', claims: { constructor: 'x' }, mutations: [], probe: 'both', user: 'carol' },
    // Any probe that fails: after such a claim every sign-in may break, at any step.
    matches: /^(after \/_mock\/reset, )?probe /,
    appliesTo: /^ctl:/,
    poisons: true,
  },
  {
    id: 'F5',
    endpoint: 'idp:users-file',
    title: "users file: an error message shows a user's password (or a client's secret)",
    detail:
      'parseUsersFile with a user entry that has an unknown key (users[0] with "x-claims") throws ' +
      'UsersFileError "users[0]: has unknown key x-claims (got {"username":"alice","password":"<the ' +
      'password in clear>",...})": the whole entry is shown, password included (problemsOf hides only ' +
      'a value whose own key is "password"). An unknown key in clients[0], or at the top level, shows ' +
      'the client_secret (and every password) the same way.',
    recipe: {
      format: 'yaml',
      structure: [{ op: 'json.addKey', path: [0, 0], name: 'x-claims', value: 'x' }],
      text: [],
      levels: 1,
      via: 'parse',
    },
    matches: /the error message shows (a password|a client secret)/,
    appliesTo: /^idp:users-file$/,
  },
  {
    id: 'F6',
    endpoint: 'idp:users-file',
    title: 'users file: a YAML alias bomb throws ReferenceError instead of UsersFileError',
    detail:
      'parseUsersFile("a: &a [lol x9]\\nb: &b [*a x9]\\n... 5 levels\\nusers: ...") throws ReferenceError ' +
      '"Excessive alias count indicates a resource exhaustion attack" (yaml toJS), not UsersFileError: ' +
      'the command prints a stack trace and exits 1 instead of a clear error and exit 2.',
    recipe: { format: 'yaml', structure: [], text: ['alias-bomb'], levels: 5, via: 'parse' },
    matches: /threw ReferenceError instead of UsersFileError/,
    appliesTo: /^idp:users-file$/,
  },
  {
    id: 'F7',
    endpoint: 'idp:authorize',
    title: 'mock IdP: GET /authorize/{unknown uid}?client_id=... answers 500',
    detail:
      'GET /authorize/xyz?client_id=litellm-cli-test (a resume URL whose interaction does not exist, ' +
      'with a client_id) answers 500 "Internal Server Error" (text/plain); koa prints "TypeError: Cannot ' +
      "read properties of undefined (reading 'redirect_uri')\" from oidc-provider " +
      'lib/actions/authorization/response_parameters.js (oneRedirectUriClients) via the authorization ' +
      'error handler. Without client_id it is a 400 page. An unknown interaction: 400.',
    recipe: {
      hint: undefined,
      pkce: false,
      post: false,
      // GET /authorize/xyz?client_id=litellm-cli-test&response_type=code&scope=...: no redirect_uri.
      mutations: [
        { op: 'path.append', value: 'xyz' },
        { op: 'query.drop', index: 2 },
      ],
    },
    matches: ANSWERED_500,
    appliesTo: /^idp:/,
    request: (r) => /^\/authorize\/[^?]/.test(target(r)) && !badHost(r),
  },
  {
    id: 'F8',
    endpoint: 'ctl:settings',
    title: 'mock IdP control API: Content-Encoding gzip/br/deflate on a plain body answers 500',
    detail:
      'PUT /_mock/clock {"offset_seconds":1} with "Content-Encoding: gzip" (or br, deflate; also on a ' +
      'GET with a body) answers 500 {"error":"server_error"} and logs control_api.error "Decompression ' +
      'failed": body-parser\'s 400 has no `type`, so errorAnswer does not see it as a client error. ' +
      '"Content-Encoding: x" correctly answers 415.',
    recipe: {
      op: 'put-clock',
      mutations: [{ op: 'header.set', name: 'content-encoding', value: 'gzip' }],
      probe: 'none',
      user: 'alice',
    },
    matches: ANSWERED_500,
    appliesTo: /^ctl:/,
    request: (r) => header(r, 'content-encoding') !== undefined,
  },
  {
    id: 'G1',
    endpoint: 'gw:ui-home',
    title: 'gateway: a UI session cookie with an enormous exp answers 500 at GET /ui/',
    detail:
      'GET /ui/ with a litellm_ui_session cookie validly signed (HS256, the derived ui-session key) whose ' +
      'exp is 1e20 answers 500 {"detail":"Internal server error"} and logs unexpected_error "RangeError: ' +
      'Invalid time value" (a Date made from exp * 1000 for the page). Only a holder of the signing ' +
      'secret can make such a cookie, but an out-of-range exp is bad input: 401 like any bad session.',
    recipe: {
      gw: 'A',
      cookie: 'forged',
      path: '/ui/',
      forge: { alg: 'HS256', edits: [['exp', 1e20]], drop: [] },
      user: 0,
      mutations: [],
    },
    matches: /RangeError: Invalid time value/,
    appliesTo: /^gw:/,
  },
  {
    id: 'G2',
    endpoint: 'gw:callback',
    title: 'gateway: a 20,000-character user id yields a key the gateway itself refuses (431)',
    detail:
      'A login whose userinfo has preferred_username of 20,000 characters goes through (callback 200, ' +
      'code confirmed, poll ready) and issues a key of 27,004 characters; GET /v1/models with it ' +
      'answers 431 (request header fields too large), and so does GET /user/info?user_id=<that id>. ' +
      'A bound on identity lengths at the callback (4xx naming the claim) would avoid both.',
    recipe: {
      gw: 'C',
      fixture: 'fresh',
      user: 0,
      script: { token: 'valid', userinfo: 'valid', claims: [['preferred_username', 'x'.repeat(20_000)]], extra: [] },
      mutations: [],
    },
    matches: /was refused by its own \/v1\/models: 431/,
    appliesTo: /^gw:/,
  },
  {
    id: 'G3',
    endpoint: 'gw:ui-callback',
    title: 'gateway and mock IdP logs: a "&" in the request path leaves a secret query value unredacted',
    detail:
      'GET /a&b/callback?code=<a real authorization code>&state=... answers 404 and the request log ' +
      'line has "path":"/a&b/callback?code=<the code in clear>&state=...". The logger redacts URLs with ' +
      'protocol/redact.ts redactText, whose query pattern also matches "&b/callback?code=" as one ' +
      'parameter named "b/callback?code" (not a secret name), so the real code parameter is skipped. ' +
      'A URL should be split at its first "?" before its parameters are redacted. The mock IdP logs ' +
      'and journals paths through the same function: GET /o&x/?user_code=VTVX-KDZZ at the mock IdP ' +
      'leaves the device user code in its log and journal.',
    recipe: {
      gw: 'B',
      fixture: 'used',
      user: 0,
      mutations: [{ op: 'path.segment', index: 0, value: 'a&b', encode: false }],
    },
    matches: /^secret in a log: /,
    appliesTo: /^(gw|idp):/,
    request: (r) => target(r).split('?')[0]!.includes('&'),
  },
  {
    id: 'G4',
    endpoint: 'gw:native-token',
    title: 'gateway: POST /token with a Host header that makes no URL answers 500 (no PROXY_BASE_URL)',
    detail:
      'On gateway C (no PROXY_BASE_URL), POST /token with a resource and Host: %uD800 answers 500 and ' +
      'logs unexpected_error "TypeError: Invalid URL": the resource check built a URL from the base ' +
      "URL the Host header made. A Host that is not a host name and port is the client's mistake: 400.",
    recipe: {
      gw: 'C',
      grant: 'refresh_token',
      code: 'llm_gcode_X',
      refresh: 'y',
      verifier: 'v'.repeat(64),
      ownClient: true,
      resource: 'gateway',
      mutations: [{ op: 'header.set', name: 'host', value: '%uD800' }],
    },
    matches: /Invalid URL/,
    appliesTo: /^gw:native-/,
  },
  {
    id: 'G5',
    endpoint: 'gw:native-authorize',
    title: 'gateway: GET /authorize without a session and with a Host header that makes no URL answers 500',
    detail:
      'On gateway C (no PROXY_BASE_URL), GET /authorize from a browser without a session, with ' +
      'Host: %0d%0aSet-Cookie:%20x=1, answers 500 and logs unexpected_error "TypeError: Invalid URL": the ' +
      'link to the sign-in was built from that Host. Fixed with G4, in publicBaseUrl.',
    recipe: {
      gw: 'C',
      redirect: 'http://127.0.0.1:53682/callback',
      challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      method: 'S256',
      state: 'Z',
      resource: 'none',
      mutations: [{ op: 'header.set', name: 'host', value: '%0d%0aSet-Cookie:%20x=1' }],
    },
    matches: /Invalid URL/,
    appliesTo: /^gw:native-/,
  },
  {
    id: 'F9',
    endpoint: 'idp:users-file',
    title: 'users file: two claims nested 1,000 deep kill the process (fatal V8 error, exit 134)',
    detail:
      'parseUsersFile of {"users":[{"username":"a","claims":{"x":{"a":{"a":... 1,000 deep}}}},' +
      '{"username":"b","claims":{"y":... 1,000 deep}}]} (24 KB) aborts the whole process with "FATAL ' +
      'ERROR: RegExpCompiler Allocation failed - process out of memory", exit code 134: no try/catch ' +
      'sees it, so `mock-idp --users FILE` dies without a message naming the file (it should exit 2 ' +
      'with UsersFileError). One such claim gives UsersFileError "Maximum call stack size exceeded"; ' +
      'the yaml parser recurses per nesting level. A depth limit checked before parsing avoids both.',
    recipe: { format: 'yaml', structure: [], text: ['two-deep-claims'], levels: 5, via: 'parse' },
    matches: /^the process parsing it died/,
    appliesTo: /^idp:users-file$/,
  },
  {
    id: 'F10',
    endpoint: 'ctl:claims',
    title: 'mock IdP control API: OPTIONS with 5,000 query parameters and a 100,000-deep body got a TCP reset',
    detail:
      'OPTIONS /_mock/users/alice/claims?p0=0&...&p4999=4999 (52 KB target) with the control token and a ' +
      'JSON body {"a":{"a":... 100,000 deep} (600 KB) got no answer: the connection was reset (ECONNRESET) ' +
      'while the client was still sending. The HTTP parser refuses the request line (431), and the ' +
      'socket was closed at once, with the body unread. Fixed in common/http-server.ts (1ab4b5d): a ' +
      'request the parser refuses gets a 4xx the client can read, then a lingering close.',
    recipe: {
      op: 'PATCH',
      claims: { department: 'Sales' },
      mutations: [
        { op: 'body.deep', depth: 100_000, kind: 'object' },
        { op: 'method', value: 'OPTIONS' },
        { op: 'query.many', count: 5000 },
      ],
      probe: 'none',
      user: 'alice',
    },
    matches: /^no answer/,
    appliesTo: /^(ctl|idp|gw):/,
    request: (r) => target(r).length > 16_000,
  },
  {
    id: 'F11',
    endpoint: 'idp:users-file',
    title: "users file: the loader threw TypeError (reading 'replace') instead of UsersFileError",
    detail:
      'Reported once by an earlier run (seed 1413607485, path 124: loadUsersFile of a missing file, the ' +
      'input\'s text a comment and then many users): TypeError "Cannot read properties of undefined ' +
      "(reading 'replace')\" instead of UsersFileError. It did not reproduce on this code (20a27b7 and " +
      'after), by that seed and path or by this recipe: kept as a regression case.',
    recipe: {
      format: 'json',
      structure: [{ op: 'body.replace', body: { kind: 'none' } }],
      text: ['only-comment', 'many-users'],
      levels: 1,
      via: 'missing',
    },
    matches: /threw TypeError instead of UsersFileError/,
    appliesTo: /^idp:users-file$/,
  },
  {
    id: 'F12',
    endpoint: 'idp:users-file',
    title: 'users file: a whole entry written as one string was shown in the error, password included',
    detail:
      'A changed character turned the users list into one string (users: n{"username":"alice","password":' +
      '"..."}): UsersFileError "users: expected array, received string (got ...)" showed its first 80 ' +
      'characters, the password among them. A string naming a secret is now shown by its length.',
    recipe: {
      format: 'yaml',
      structure: [{ op: 'body.field', index: 6, tweak: { kind: 'change-char', at: 0, char: 'n' } }],
      text: [],
      levels: 9,
      via: 'parse',
    },
    matches: /the error message shows (a password|a client secret)/,
    appliesTo: /^idp:users-file$/,
  },
  {
    id: 'F13',
    endpoint: 'idp:users-file',
    title: "users file: yaml's message quoted the token it stopped at, a client secret",
    detail:
      'A users file of one line of JSON the parser gives up on (a !!js/function tag inside a string) gave ' +
      '31 problems; one rule was yaml\'s "Unexpected double-quoted-scalar token in YAML stream: <the client ' +
      'secret, quoted>". On a line that may hold a secret, quoted text is now left out.',
    recipe: { format: 'json', structure: [], text: ['tag-js'], levels: 8, via: 'parse' },
    matches: /the error message shows (a password|a client secret)/,
    appliesTo: /^idp:users-file$/,
  },
  {
    id: 'F14',
    endpoint: 'idp:users-file',
    title: 'users file: an unknown key that was the whole file was shown, passwords and secrets included',
    detail:
      'A C-style comment before the JSON makes the whole text one plain YAML key: UsersFileError ' +
      '"(top level): has unknown key /* comment */{"users":[{"username":"alice","password":"<the ' +
      'password>"...". A key naming a secret is now shown by its length.',
    recipe: {
      format: 'yaml',
      structure: [{ op: 'json.text', kind: 'comment', at: 0 }],
      text: ['proto-key', 'null-key'],
      levels: 7,
      via: 'parse',
    },
    matches: /the error message shows (a password|a client secret)/,
    appliesTo: /^idp:users-file$/,
  },
];
