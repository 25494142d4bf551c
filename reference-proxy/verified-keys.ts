/**
 * CLI keys that verified, remembered so that the next API call with the same key skips the HMAC,
 * the JSON parsing and the claim checks (docs/contract.md section 6; the answers stay the same).
 * Why a hit may be trusted:
 * - it is keyed by the whole key string, and a string verifies the same way under the same signing
 *   key every time: its signature, `alg`, `iss`, required claims and their types are all fixed by
 *   the string. Only the time checks depend on when it is asked, and the caller repeats them on
 *   every hit against the clock read afresh (`exp`, and `nbf` should a key carry one);
 * - there is one cache per signing key: the KeyIssuer that holds the key owns it, so a key verified
 *   under one secret is never found under another (a changed LITELLM_SALT_KEY is another issuer);
 * - only keys that verified enter it: a forged, `alg: none`, expired or other-signer key goes the
 *   whole way through jose every time, so nobody can fill the cache without keys the gateway signed;
 * - it is bounded: at most `capacity` entries, the oldest inserted dropped first when full, and an
 *   entry found expired is dropped when it is looked up. A Map lookup compares string hashes first,
 *   and V8 seeds them at random per process, so a caller cannot steer a lookup onto a stored key
 *   to time the comparison of its characters.
 */

/** What a hit needs to answer again: the claims, and the times to check against the clock. */
export interface VerifiedKey<Claims> {
  claims: Claims;
  /** `exp`, in seconds since the epoch. */
  expiresAt: number;
  /** `nbf`, when the key has one. */
  notBefore: number | undefined;
}

export class VerifiedKeys<Claims> {
  private readonly entries = new Map<string, VerifiedKey<Claims>>();

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a whole number >= 1`);
  }

  // mutation-equivalent: read only by the unit tests of the bound (KeyIssuer.rememberedKeys)
  get size(): number {
    return this.entries.size;
  }

  get(key: string): VerifiedKey<Claims> | undefined {
    return this.entries.get(key);
  }

  /** Remember a key that verified; the oldest entry goes when the cache is full. */
  remember(key: string, verified: VerifiedKey<Claims>): void {
    if (!this.entries.has(key) && this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, verified);
  }

  forget(key: string): void {
    this.entries.delete(key);
  }
}
