/**
 * The CLI SSO wire contract as code, for anyone who implements or tests a gateway or a CLI: the
 * paths and header of the login endpoints, parsers of the start and poll answers that name the
 * field a broken answer gets wrong, the claim-map grammar and metadata filters, the error bodies,
 * the CLI token file, and the redaction that keeps secrets out of logs. The rules themselves are in
 * docs/contract.md.
 *
 * @example
 * ```ts
 * import { CLI_SSO_PATHS, joinUrl, parseStartAnswer } from 'cli-sso-harness/protocol';
 *
 * const answer = await fetch(joinUrl('http://127.0.0.1:4000', CLI_SSO_PATHS.start), { method: 'POST' });
 * const start = parseStartAnswer(await answer.json()); // throws WireFormatError naming the bad field
 * console.log(start.userCode); // e.g. "K7QM-3XPD"
 * ```
 *
 * @packageDocumentation
 */

export {
  BLOCKED_KEY_WORDS,
  blockedKeyWords,
  buildAttributionMetadata,
  CLAIM_RULES,
  type ClaimMapping,
  type ClaimRules,
  checkDestinationKey,
  type DestinationVerdict,
  isAllowedMetadataValue,
  MAX_METADATA_STRING_LENGTH,
  type MetadataScalar,
  type NestedMetadata,
  nestAttributionMetadata,
  parseClaimMap,
} from './claim-map.ts';
export {
  type AttributionMetadata,
  browserLoginUrl,
  CLI_SOURCE,
  CLI_SSO_PATHS,
  CLI_STATE_PREFIX,
  FLOW_TTL_SECONDS,
  formatUserCode,
  isValidLoginId,
  joinUrl,
  LOGIN_ID_PATTERN,
  MAX_PREFER_WAIT_SECONDS,
  normalizeUserCode,
  POLL_SECRET_HEADER,
  type PollAnswer,
  parsePollAnswer,
  parseStartAnswer,
  type StartAnswer,
  serializePollAnswer,
  serializeStartAnswer,
  type TeamDetail,
  USER_CODE_ALPHABET,
  USER_CODE_LENGTH,
  WireFormatError,
} from './cli-sso.ts';
export {
  type ApiErrorBody,
  apiErrorTypeOf,
  CLI_SSO_MESSAGES,
  type DetailBody,
  errorMessageOf,
  type OAuthErrorBody,
} from './errors.ts';
export { CONTRACT_PROFILES, type ContractProfile, NEWEST_CONTRACT_PROFILE } from './profiles.ts';
export { isSecretName, redact, redactSecrets, redactText, redactUrl } from './redact.ts';
export {
  parseTokenFile,
  type StoredLogin,
  serializeTokenFile,
  TOKEN_DIR_MODE,
  TOKEN_FILE_DIR,
  TOKEN_FILE_MODE,
  TOKEN_FILE_NAME,
} from './token-file.ts';
