/**
 * A mock OpenID Connect provider for tests, in process: start it on a free port, give it users and
 * claims, plant faults, move its clock, read its journal of requests, reset it, stop it. It serves
 * LiteLLM's mock IdP defaults (the `litellm-cli-test` client, `/authorize`, `/token`, `/userinfo`), so
 * a LiteLLM-style gateway works against it unchanged. The guide with complete tests is
 * docs/library.md; the HTTP control API and the command are in mock-idp/README.md.
 *
 * @example
 * ```ts
 * import { startMockIdp } from 'cli-sso-harness/mock-idp';
 *
 * const idp = await startMockIdp(); // a free port on 127.0.0.1
 * idp.users.put({ username: 'dana', claims: { sub: 'dana', email: 'dana@example.com' } });
 * idp.faults.inject({ endpoint: 'token', kind: 'oauth_error', error: 'invalid_grant' });
 * // ... point the code under test at idp.endpoints.discovery ...
 * await idp.close();
 * ```
 *
 * @packageDocumentation
 */

// What the options above take, from the shared plumbing, so a caller needs no other import.
export {
  BrowserlessLoginError,
  type BrowserlessLoginOptions,
  type BrowserlessLoginResult,
  completeLoginOverHttp,
  type HttpPage,
} from '../common/browserless-login.ts';
export { type Clock, ManualClock } from '../common/clock.ts';
export { createLogger, type Logger, type LoggerOptions, type LogLevel, type LogSink } from '../common/logger.ts';
export { type BannerExtras, startBanner } from './banner.ts';
export {
  CLIENT_AUTH_METHODS,
  type ClientAuthMethod,
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_REDIRECT_URI,
  defaultClient,
  type MockClient,
} from './clients.ts';
export { loadMockIdpConfig, MOCK_IDP_SETTINGS, type MockIdpConfig, type MockIdpFlags } from './config.ts';
export {
  type DelayFault,
  type DropConnectionFault,
  type ExpiredIdTokenFault,
  FAULT_ENDPOINTS,
  type Fault,
  type FaultBase,
  FaultBook,
  type FaultEndpoint,
  type FaultInput,
  type FaultKind,
  type FaultSpec,
  faultSpecSchema,
  type JsonValue,
  type MalformedBodyFault,
  type OAuthErrorFault,
  type StatusFault,
  type WrongAudienceFault,
  type WrongIssuerFault,
  type WrongSigningKeyFault,
} from './faults.ts';
export { type EventEntry, Journal, type JournalEntry, type JournalFilter, type RequestEntry } from './journal.ts';
export { loopbackRedirectMatches } from './loopback-redirect.ts';
export {
  DEFAULT_HOST,
  DEFAULT_PORT,
  type EndpointUrls,
  endpointUrls,
  type MockIdp,
  type MockIdpOptions,
  startMockIdp,
} from './mock-idp.ts';
export { DEFAULT_TOKEN_LIFETIMES, ENDPOINT_PATHS, scopeClaims, type TokenLifetimes } from './provider.ts';
export { SignInError, type SignInOptions } from './sign-in.ts';
export { UserDirectory } from './user-directory.ts';
export {
  builtInCast,
  type Claims,
  type ClaimValue,
  type DefaultUserOverrides,
  LITELLM_DEFAULT_USER,
  litellmDefaultUser,
  type MockUser,
  subjectOf,
} from './users.ts';
export {
  loadUsersFile,
  parseUsersFile,
  type UsersFile,
  UsersFileError,
  type UsersFileProblem,
  usersFileJsonSchema,
} from './users-file.ts';
