/**
 * CLI_SSO_CLAIM_MAP: grammar, secret filtering and the shape of attribution metadata
 * (docs/contract.md section 5). Pure functions, no I/O.
 */
import type { ContractProfile } from './profiles.ts';

/** The claim-map rules on which the contract profiles disagree (docs/contract.md section 10.4). */
export interface ClaimRules {
  /**
   * The word `token` is on the destination deny-list: litellm-v3 drops `token`, `tokenizer`,
   * `csrf_token` (CLISSO-FILTER-01); litellm-v4 took the word off and keeps them (CLISSO-FILTER-08).
   */
  blockToken: boolean;
  /**
   * Strings that look like numbers are stored as numbers: litellm-v3 (CLISSO-CLAIMS-07); litellm-v4
   * stores the IdP's value types as they are (CLISSO-CLAIMS-11).
   */
  numericStringsAsNumbers: boolean;
}

/** Each profile's claim-map rules. */
export const CLAIM_RULES: Readonly<Record<ContractProfile, ClaimRules>> = {
  'litellm-v3': { blockToken: true, numericStringsAsNumbers: true },
  'litellm-v4': { blockToken: false, numericStringsAsNumbers: false },
};

/** One `source->destination` entry of the claim map: an IdP claim path and the metadata key it fills. */
export interface ClaimMapping {
  /** Name of a claim captured by GENERIC_USER_EXTRA_ATTRIBUTES, e.g. `org_info.department`. */
  source: string;
  /** Metadata key; dots make nested objects when stored. */
  destination: string;
}

const METADATA_PREFIX = 'metadata.';

/**
 * Parse `source->dest, source->dest`. Never throws: entries that do not fit the grammar are skipped,
 * as LiteLLM does. A later pair for the same destination wins, so the result keeps one pair per
 * destination, at the position of its last occurrence.
 */
export function parseClaimMap(raw: string | undefined): ClaimMapping[] {
  return readClaimMap(raw).mappings;
}

/** The mappings, and the entries skipped on the way with why (for one warning each at start-up). */
export function readClaimMap(raw: string | undefined): { mappings: ClaimMapping[]; skipped: string[] } {
  const skipped: string[] = [];
  const value = (raw ?? '').trim();
  if (value === '') return { mappings: [], skipped };
  const byDestination = new Map<string, ClaimMapping>();
  for (const entry of value.split(',')) {
    const trimmed = entry.trim();
    // mutation-equivalent: an empty entry is skipped below as well, as one without an arrow; only a
    // start-up warning more
    if (trimmed === '') continue;
    const arrow = trimmed.indexOf('->');
    // mutation-equivalent: an entry whose arrow comes first has an empty source and is skipped below as
    // well; only the start-up warning's words differ
    if (arrow < 0) {
      skipped.push(`entry "${trimmed}" has no "->" and is skipped`);
      continue;
    }
    const source = trimmed.slice(0, arrow).trim();
    let destination = trimmed.slice(arrow + 2).trim();
    // Trimmed again once the prefix is gone: `metadata. team` names the key `team`, not ` team`, and
    // `metadata. ` names none (an empty side).
    if (destination.startsWith(METADATA_PREFIX)) destination = destination.slice(METADATA_PREFIX.length).trim();
    if (source === '' || destination === '') {
      skipped.push(`entry "${trimmed}" has an empty side and is skipped`);
      continue;
    }
    byDestination.delete(destination);
    byDestination.set(destination, { source, destination });
  }
  return { mappings: [...byDestination.values()], skipped };
}

/**
 * Lower-cased substrings that mark a destination key as secret-looking (plain substring test), as
 * litellm-v3 lists them; litellm-v4 lists every one but `token` ({@link blockedKeyWords}).
 */
export const BLOCKED_KEY_WORDS = [
  'access_token',
  'api_key',
  'client_secret',
  'id_token',
  'password',
  'private_key',
  'refresh_token',
  'secret',
  'token',
] as const;

/** The deny-list of destination key words under `rules`. */
export function blockedKeyWords(rules: ClaimRules): readonly string[] {
  return rules.blockToken ? BLOCKED_KEY_WORDS : BLOCKED_KEY_WORDS.filter((word) => word !== 'token');
}

const DESTINATION_KEY_PATTERN = /^[A-Za-z0-9_.-]+$/;
/** The longest string a claim may give as metadata; a longer one yields nothing. */
export const MAX_METADATA_STRING_LENGTH = 1024;

/** Whether a claim-map destination key may be used, and why not. */
export type DestinationVerdict = { allowed: true } | { allowed: false; reason: string };

/** Dot segments that would walk into an object's prototype when the key is nested (`__proto__.x`). */
const PROTOTYPE_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Whether a claim-map destination key may carry metadata: the allowed characters, no prototype
 * segment, no secret-looking word of the profile's deny-list ({@link blockedKeyWords}).
 */
export function checkDestinationKey(key: string, rules: ClaimRules): DestinationVerdict {
  if (!DESTINATION_KEY_PATTERN.test(key)) return { allowed: false, reason: 'must match ^[A-Za-z0-9_.-]+$' };
  // mutation-equivalent: outside the contract: a JavaScript store's defence against prototype pollution; LiteLLM (Python) keeps such keys, so no conformance rule may ask for either
  if (key.split('.').some((segment) => PROTOTYPE_SEGMENTS.has(segment))) {
    return { allowed: false, reason: 'has a __proto__, constructor or prototype segment' };
  }
  const lower = key.toLowerCase();
  const word = blockedKeyWords(rules).find((w) => lower.includes(w));
  return word ? { allowed: false, reason: `contains the secret-looking word "${word}"` } : { allowed: true };
}

/** A metadata value: claims of other types (objects, lists, null) yield nothing. */
export type MetadataScalar = string | number | boolean;

/** JWT-looking: starts with `eyJ` and has two or more dots. */
export function looksLikeJwt(value: string): boolean {
  return value.startsWith('eyJ') && value.split('.').length - 1 >= 2;
}

/** Whether a claim value may become metadata: a boolean, a finite number, or a string of at most {@link MAX_METADATA_STRING_LENGTH} characters that does not look like a JWT. */
export function isAllowedMetadataValue(value: unknown): value is MetadataScalar {
  if (typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'string') return false;
  return value.length <= MAX_METADATA_STRING_LENGTH && !looksLikeJwt(value);
}

/**
 * Apply the mappings to the captured claims. Returns the flat, dot-keyed form sent in the poll
 * answer (values unchanged). Missing or uncaptured sources, blocked keys and disallowed values
 * yield nothing.
 */
export function buildAttributionMetadata(
  mappings: readonly ClaimMapping[],
  capturedClaims: Readonly<Record<string, unknown>>,
  rules: ClaimRules,
): Record<string, MetadataScalar> {
  const flat: Record<string, MetadataScalar> = {};
  for (const { source, destination } of mappings) {
    if (!Object.hasOwn(capturedClaims, source)) continue;
    if (!checkDestinationKey(destination, rules).allowed) continue;
    const value = capturedClaims[source];
    if (!isAllowedMetadataValue(value)) continue;
    flat[destination] = value;
  }
  return flat;
}

/** Metadata as stored, dots turned into nested objects. */
export type NestedMetadata = { [key: string]: MetadataScalar | NestedMetadata };

const NUMERIC_STRING = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?$/;

/**
 * The stored form: dots make nested objects; under litellm-v3's rules strings that look like
 * numbers become numbers (`"42"` -> 42, CLISSO-CLAIMS-07), under litellm-v4's every value keeps its
 * type (CLISSO-CLAIMS-11).
 */
export function nestAttributionMetadata(
  flat: Readonly<Record<string, MetadataScalar>>,
  rules: ClaimRules,
): NestedMetadata {
  const nested: NestedMetadata = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split('.');
    const leaf = parts.pop() as string;
    let node = nested;
    for (const part of parts) {
      const next = node[part];
      if (typeof next === 'object' && next !== null) node = next;
      else node = node[part] = {};
    }
    node[leaf] =
      rules.numericStringsAsNumbers && typeof value === 'string' && NUMERIC_STRING.test(value) ? Number(value) : value;
  }
  return nested;
}

/** Merge attribution metadata into a user's stored metadata, one level deep for objects. */
export function mergeUserMetadata(
  stored: Readonly<Record<string, unknown>>,
  attribution: Readonly<NestedMetadata>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...stored };
  for (const [key, value] of Object.entries(attribution)) {
    const existing = merged[key];
    merged[key] = isPlainObject(existing) && isPlainObject(value) ? { ...existing, ...value } : value;
  }
  return merged;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
