/**
 * The mock IdP's public API. Other folders (features/, scripts/, tests of other components) import
 * the mock only from here. See mock-idp/README.md.
 */

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
  FAULT_ENDPOINTS,
  type Fault,
  FaultBook,
  type FaultEndpoint,
  type FaultKind,
  type FaultSpec,
  faultSpecSchema,
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
