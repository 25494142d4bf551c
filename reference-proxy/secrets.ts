/**
 * Random identifiers and secret hashes of a CLI login (docs/contract.md section 2, POST
 * /sso/cli/start). Only SHA-256 hashes of the poll secret, the user code and the browser token are
 * ever stored, so a leaked flow store cannot be replayed.
 */
import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { normalizeUserCode, USER_CODE_ALPHABET, USER_CODE_LENGTH } from '../protocol/cli-sso.ts';

/** `cli-` + 32 url-safe base64 characters (24 random bytes). */
export function newLoginId(): string {
  // mutation-equivalent: 25 random bytes make a 34-character id, which the contract's pattern allows as well
  return `cli-${randomBytes(24).toString('base64url')}`;
}

/** 32 random bytes, url-safe base64 (43 characters): the poll secret and the browser token. */
export function newSecretToken(): string {
  // mutation-equivalent: 33 random bytes make a 44-character secret; the contract asks for at least 43
  return randomBytes(32).toString('base64url');
}

/** 8 characters from the unambiguous alphabet; shown to people as XXXX-XXXX. */
export function newUserCode(): string {
  let code = '';
  for (let i = 0; i < USER_CODE_LENGTH; i++) code += USER_CODE_ALPHABET[randomInt(USER_CODE_ALPHABET.length)];
  return code;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** The stored form of a verification code: the hash of its normalised form. */
export function userCodeHash(typed: string): string {
  return sha256Hex(normalizeUserCode(typed));
}

/** Constant-time comparison of a presented secret with a stored SHA-256 hex hash. */
export function matchesHash(presented: string | undefined, storedHashHex: string | undefined): boolean {
  if (presented === undefined || storedHashHex === undefined) return false;
  const a = Buffer.from(sha256Hex(presented), 'hex');
  const b = Buffer.from(storedHashHex, 'hex');
  // mutation-equivalent: two SHA-256 digests always have the same length; the length test only guards
  // timingSafeEqual, which throws on unequal lengths
  return a.length === b.length && timingSafeEqual(a, b);
}
