/**
 * The IdP's signing keys: one RS256 and one ES256 key (RFC 7518 section 3.1), each with a random
 * `kid`, made fresh on every start so a relying party that cached an old JWKS notices (it must
 * refetch on an unknown kid). Rotation puts new keys first (oidc-provider signs with the first key
 * of an algorithm) and keeps the previous ones published, so tokens already issued still verify.
 */
import { randomUUID } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWK } from 'jose';

export const SIGNING_ALGORITHMS = ['RS256', 'ES256'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export interface PrivateSigningKey extends JWK {
  kid: string;
  alg: SigningAlgorithm;
  use: 'sig';
}

/** How many older generations stay published after a rotation. */
const RETIRED_GENERATIONS_KEPT = 1;

export async function makeSigningKey(alg: SigningAlgorithm): Promise<PrivateSigningKey> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(privateKey)), kid: randomUUID(), alg, use: 'sig' };
}

/** One key of each algorithm, in SIGNING_ALGORITHMS order. */
export function makeGeneration(): Promise<PrivateSigningKey[]> {
  return Promise.all(SIGNING_ALGORITHMS.map((alg) => makeSigningKey(alg)));
}

export class SigningKeys {
  /** Newest generation first. */
  private generations: PrivateSigningKey[][];

  private constructor(private readonly first: PrivateSigningKey[]) {
    this.generations = [first];
  }

  /** @param first - keys made ahead of time (key-cache.ts); made now when absent */
  static async create(first?: PrivateSigningKey[]): Promise<SigningKeys> {
    return new SigningKeys(first ?? (await makeGeneration()));
  }

  /** Back to the keys made at the start (so reset gives a relying party the JWKS it first saw). */
  reset(): boolean {
    const changed = this.generations.length !== 1 || this.generations[0] !== this.first;
    this.generations = [this.first];
    return changed;
  }

  /** Make a new generation of keys; the oldest retired one is dropped. */
  async rotate(): Promise<void> {
    this.generations = [await makeGeneration(), ...this.generations].slice(0, 1 + RETIRED_GENERATIONS_KEPT);
  }

  /** Every private key, current first: the `jwks` option of oidc-provider. */
  all(): PrivateSigningKey[] {
    return this.generations.flat();
  }

  /** The key that signs new tokens with `alg`. */
  current(alg: SigningAlgorithm): PrivateSigningKey {
    const key = this.generations[0]?.find((k) => k.alg === alg);
    if (!key) throw new Error(`no current ${alg} signing key`);
    return key;
  }

  find(kid: string): PrivateSigningKey | undefined {
    return this.all().find((k) => k.kid === kid);
  }

  /** Key ids as published at the JWKS endpoint, current first. */
  kids(): string[] {
    return this.all().map((k) => k.kid);
  }
}
