/**
 * KNOWN FINDINGS: inputs the fuzzer found that failed an oracle. Each is replayed, on fresh servers,
 * at the start of every run of its endpoint and reported as OPEN (still fails) or FIXED; failures of
 * the generated inputs that match one are labelled with its id. An open finding makes the run exit
 * 1, like any failure.
 *
 * To be fixed by the owners of mock-idp/ (and reference-proxy/ when one appears there). When one is
 * fixed, its replay says FIXED: keep the entry, as a regression case.
 *
 * Each recipe is the endpoint's input as data (see the endpoint in gateway.ts, mock-idp.ts or
 * users-file.ts); `matches` recognises the problem it produces.
 */
export interface KnownFinding {
  id: string;
  endpoint: string;
  title: string;
  /** What happens, for the lead: the request and the answer, in words. */
  detail: string;
  /** The input, as the endpoint's recipe. */
  recipe: unknown;
  /** Matches the problem text this finding produces. */
  matches: RegExp;
  /** Generated inputs of other endpoints that fail for the same reason (labelled with this id). */
  alsoOn?: { endpoints: RegExp; request: (request: RequestDescription) => boolean };
}

type RequestDescription = { method?: unknown; target?: unknown; headers?: unknown };

function header(request: RequestDescription, name: string): string | undefined {
  const headers = Array.isArray(request.headers) ? (request.headers as string[]) : [];
  const line = headers.find((h) => h.toLowerCase().startsWith(`${name}: `));
  return line?.slice(name.length + 2);
}

/** A Host header no URL can be made of. */
function badHost(request: RequestDescription): boolean {
  const host = header(request, 'host');
  if (host === undefined) return false;
  try {
    return new URL(`http://${host}/`).host === '';
  } catch {
    return true;
  }
}

export const KNOWN_FINDINGS: KnownFinding[] = [
  {
    id: 'F1',
    endpoint: 'idp:discovery',
    title: 'mock IdP: a Host header that is not a valid host answers 500',
    detail:
      'GET /.well-known/openid-configuration with "Host: %" (also "a b", "[::1", "x:99999") answers ' +
      '500 {"error":"server_error","error_description":"oops! something went wrong"}; so do /authorize/{uid} ' +
      'and the other oidc-provider routes, which build URLs from the Host header. A client mistake: 400.',
    recipe: { mutations: [{ op: 'header.set', name: 'host', value: '%' }] },
    matches: /^answered 500$/,
    alsoOn: { endpoints: /^idp:/, request: badHost },
  },
  {
    id: 'F2',
    endpoint: 'idp:device-auth',
    title: 'mock IdP: GET /device/auth (and GET /device/{anything}, POST /device without its session) answers 500',
    detail:
      'GET /device/auth answers 500 "Internal Server Error" (text/plain) and koa prints ' +
      '"TypeError: persist can only be called on previously persisted Sessions" (oidc-provider ' +
      'lib/helpers/initialize_app.js ensureSessionSave) to the console. Same for GET /device/x and for ' +
      'POST /device with a form but no device-flow cookie. A wrong method or a missing session: 4xx.',
    recipe: { mutations: [{ op: 'method', value: 'GET' }] },
    matches: /^answered 500$/,
    alsoOn: { endpoints: /^idp:/, request: (r) => /^\/device(\/|\?|$)/i.test(String(r.target)) },
  },
  {
    id: 'F3',
    endpoint: 'ctl:claims',
    title: 'mock IdP control API: a deeply nested JSON body answers 500 (RangeError)',
    detail:
      'PUT /_mock/users/alice/claims (Authorization: Bearer <control token>, application/json) with ' +
      'the body [[[...1...]]] nested 20,000 deep (40 KB, under the 1 MB limit) answers 500 ' +
      '{"error":"server_error"} and logs control_api.error RangeError "Maximum call stack size exceeded". ' +
      'PUT /_mock/clock with {"a":{"a":...}} 100,000 deep does the same (the error message builder ' +
      'stringifies the value). Bad input: 400 naming the rule (a depth limit).',
    recipe: {
      op: 'PUT',
      claims: { department: 'Sales' },
      mutations: [{ op: 'body.deep', depth: 20_000, kind: 'array' }],
      probe: 'none',
      user: 'alice',
    },
    matches: /^answered 500$/,
  },
  {
    id: 'F4',
    endpoint: 'ctl:claims',
    title: 'mock IdP: a claim named "constructor" breaks token requests, and /_mock/reset does not repair it',
    detail:
      'PUT /_mock/users/carol/claims {"constructor":"x"} answers 200; then a sign-in of carol gets ' +
      'POST /token 500 {"error":"server_error"}; and after POST /_mock/reset, GET /userinfo for alice ' +
      'answers 200 with only sub/email: preferred_username, name, org_info, groups, teams... are gone ' +
      '(the released claim names are poisoned for the life of the process).',
    recipe: { op: 'PUT', claims: { constructor: 'x' }, mutations: [], probe: 'both', user: 'carol' },
    matches: /probe POST \/token answered 500|after \/_mock\/reset, probe GET \/userinfo/,
  },
  {
    id: 'F5',
    endpoint: 'idp:users-file',
    title: "users file: an error message shows a user's password (or a client's secret)",
    detail:
      'parseUsersFile with a user entry that has an unknown key (users[0] with "x-claims") throws ' +
      'UsersFileError "users[0]: has unknown key x-claims (got {"username":"alice","password":"<the ' +
      'password in clear>",...})": the value of the whole entry is shown, password included ' +
      '(problemsOf hides only a value whose own key is "password"). An unknown key in clients[0] shows ' +
      'its client_secret the same way.',
    recipe: {
      format: 'yaml',
      structure: [{ op: 'json.addKey', path: [0, 0], name: 'x-claims', value: 'x' }],
      text: [],
      levels: 1,
      via: 'parse',
    },
    matches: /the error message shows (a password|a client secret)/,
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
  },
];
