/**
 * The people the mock IdP can sign in: a username, an optional password and an arbitrary claim set
 * (nested objects, lists, numbers, booleans, long and secret-looking values are all allowed, because
 * the point of the mock is to feed a gateway's claim mapping and secret filtering;
 * docs/contract.md section 5).
 *
 * A user's OpenID subject is its `sub` claim when it has one, else its username.
 */

import { type Claims, claimsFromEntries, NAMES_OUTSIDE_PROVIDER, ownValue } from './claims.ts';

export type { Claims, ClaimValue } from './claims.ts';

/** Someone who can sign in at the mock. */
export interface MockUser {
  /** The name on the login page and in {@link MockIdp.signIn}; also the subject when there is no `sub` claim. */
  username: string;
  /** When absent, the username/password form accepts any password for this user. */
  password?: string;
  /** Every claim released at userinfo under the default scopes (`sub` included). */
  claims: Claims;
}

/** The user's OpenID subject: the `sub` claim, else the username. */
export function subjectOf(user: MockUser): string {
  const sub = ownValue(user.claims, 'sub');
  return typeof sub === 'string' && sub !== '' ? sub : user.username;
}

/**
 * The claims oidc-provider releases for the user: every claim but NAMES_OUTSIDE_PROVIDER, with
 * `sub` always present.
 */
export function providerClaims(user: MockUser): Claims & { sub: string } {
  const entries = Object.keys(user.claims)
    .filter((name) => !NAMES_OUTSIDE_PROVIDER.has(name) && name !== 'sub')
    .map((name): [string, Claims[string]] => [name, ownValue(user.claims, name) ?? null]);
  return { ...claimsFromEntries(entries), sub: subjectOf(user) };
}

/** The user's claims named in NAMES_OUTSIDE_PROVIDER (released by the mock itself). */
export function claimsOutsideProvider(user: MockUser): Claims {
  return claimsFromEntries(
    Object.keys(user.claims)
      .filter((name) => NAMES_OUTSIDE_PROVIDER.has(name))
      .map((name): [string, Claims[string]] => [name, ownValue(user.claims, name) ?? null]),
  );
}

/**
 * LiteLLM's own mock IdP serves one user (docs/contract.md section 9). Its `MOCK_OIDC_*` variables
 * override the values; the username follows `sub`, as LiteLLM's mock has no other name for the user.
 */
export interface DefaultUserOverrides {
  /** `sub`, `preferred_username` and the username (`MOCK_OIDC_SUB`). */
  sub?: string;
  /** `email` (`MOCK_OIDC_EMAIL`). */
  email?: string;
  /** `employment_type` (`MOCK_OIDC_EMPLOYMENT_TYPE`). */
  employmentType?: string;
  /** `org_info.department` (`MOCK_OIDC_DEPARTMENT`). */
  department?: string;
}

/** The values of LiteLLM's mock user. */
export const LITELLM_DEFAULT_USER = {
  sub: 'cli-test-user',
  email: 'cli-test@example.com',
  employmentType: 'contractor',
  department: 'Engineering',
} as const;

/**
 * LiteLLM's mock user, `cli-test-user` (`cli-test@example.com`, a contractor in Engineering), with overrides.
 * @param overrides - other values, as LiteLLM's `MOCK_OIDC_*` variables give them
 */
export function litellmDefaultUser(overrides: DefaultUserOverrides = {}): MockUser {
  const sub = overrides.sub ?? LITELLM_DEFAULT_USER.sub;
  return {
    username: sub,
    claims: {
      sub,
      preferred_username: sub,
      email: overrides.email ?? LITELLM_DEFAULT_USER.email,
      email_verified: true,
      name: 'CLI Test User',
      employment_type: overrides.employmentType ?? LITELLM_DEFAULT_USER.employmentType,
      org_info: { department: overrides.department ?? LITELLM_DEFAULT_USER.department },
    },
  };
}

/** A value that looks like a JWT (starts with `eyJ`, two dots) and must never reach gateway metadata. */
const JWT_LOOKING_VALUE =
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJtYWxsb3J5In0.c2lnbmF0dXJlLW5vdC1yZWFsbHktYS1zaWduYXR1cmU';

/**
 * The users the mock starts with unless given others: `cli-test-user` (LiteLLM's), `alice`
 * (groups, teams, nested `org_info`), `bob` (two teams), `mallory` (hostile claims: a JWT-looking
 * value, 1025 characters, an `api_key`), `carol` (password `carol-password`). Their claims are in
 * mock-idp/README.md. The conformance suite's scenarios state these values literally.
 * @param overrides - changes to `cli-test-user`
 */
export function builtInCast(overrides: DefaultUserOverrides = {}): MockUser[] {
  return [
    litellmDefaultUser(overrides),
    {
      username: 'alice',
      claims: {
        sub: 'alice',
        preferred_username: 'alice',
        email: 'alice@example.com',
        email_verified: true,
        name: 'Alice Anders',
        given_name: 'Alice',
        family_name: 'Anders',
        employment_type: 'full_time',
        org_info: { department: 'Research', cost_center: 'CC-42' },
        groups: ['engineering', 'ml-platform'],
        employee_number: '42',
        teams: ['team-alpha'],
      },
    },
    {
      username: 'bob',
      claims: {
        sub: 'bob',
        preferred_username: 'bob',
        email: 'bob@example.com',
        email_verified: true,
        name: 'Bob Brown',
        employment_type: 'full_time',
        org_info: { department: 'Platform' },
        teams: ['team-alpha', 'team-beta'],
      },
    },
    {
      username: 'mallory',
      claims: {
        sub: 'mallory',
        preferred_username: 'mallory',
        email: 'mallory@example.com',
        email_verified: true,
        name: 'Mallory Mint',
        employment_type: 'contractor',
        session_jwt: JWT_LOOKING_VALUE,
        long_1025: 'x'.repeat(1025),
        long_1024: 'y'.repeat(1024),
        // 1024 characters of two UTF-8 bytes each: the limit counts characters, not bytes.
        long_1024_accented: '\u00e9'.repeat(1024),
        api_key: 'sk-mallory-not-a-real-key-0000',
        nothing: null,
        badge_list: ['red', 'blue'],
        org_info: { department: 'Security', clearance: 'none' },
      },
    },
    {
      username: 'carol',
      password: 'carol-password',
      claims: {
        sub: 'carol',
        preferred_username: 'carol',
        email: 'carol@other.example',
        email_verified: true,
        name: 'Carol Cole',
        employment_type: 'full_time',
        org_info: { department: 'Finance' },
      },
    },
  ];
}
