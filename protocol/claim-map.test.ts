import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  BLOCKED_KEY_WORDS,
  blockedKeyWords,
  buildAttributionMetadata,
  CLAIM_RULES,
  checkDestinationKey,
  isAllowedMetadataValue,
  looksLikeJwt,
  mergeUserMetadata,
  nestAttributionMetadata,
  parseClaimMap,
} from './claim-map.ts';

const V3 = CLAIM_RULES['litellm-v3'];
const V4 = CLAIM_RULES['litellm-v4'];

describe('parseClaimMap (docs/contract.md section 5, parsing)', () => {
  test('empty and blank values give no mappings', () => {
    assert.deepEqual(parseClaimMap(undefined), []);
    assert.deepEqual(parseClaimMap('   '), []);
  });

  test('the example of the protocol', () => {
    assert.deepEqual(parseClaimMap('employment_type->acme_employment_type,org_info.department->department'), [
      { source: 'employment_type', destination: 'acme_employment_type' },
      { source: 'org_info.department', destination: 'department' },
    ]);
  });

  test('entries are trimmed; empty entries and entries without an arrow are skipped', () => {
    assert.deepEqual(parseClaimMap(' , a -> b ,, nonsense, c->  ,  ->d, e->f '), [
      { source: 'a', destination: 'b' },
      { source: 'e', destination: 'f' },
    ]);
  });

  test('splits on the first arrow only', () => {
    assert.deepEqual(parseClaimMap('a->b->c'), [{ source: 'a', destination: 'b->c' }]);
  });

  test('a destination loses one leading "metadata." prefix', () => {
    assert.deepEqual(parseClaimMap('a->metadata.team,b->metadata.metadata.x,c->metadata.'), [
      { source: 'a', destination: 'team' },
      { source: 'b', destination: 'metadata.x' },
    ]);
  });

  test('what is left of a destination after its prefix is trimmed too', () => {
    // fast-check found `x->metadata. b` naming the key " b".
    assert.deepEqual(parseClaimMap('a->metadata. team ,c->metadata.\t'), [{ source: 'a', destination: 'team' }]);
  });

  test('a later pair for the same destination wins', () => {
    assert.deepEqual(parseClaimMap('a->k,b->k'), [{ source: 'b', destination: 'k' }]);
  });

  test('never throws and never yields an empty side, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (raw) => {
        for (const m of parseClaimMap(raw)) {
          assert.ok(m.source.length > 0 && m.destination.length > 0);
          assert.equal(m.source, m.source.trim());
          assert.equal(m.destination, m.destination.trim());
        }
      }),
    );
  });
});

describe('secret filtering (docs/contract.md section 5)', () => {
  test('every blocked word is refused in any case and as a substring', () => {
    for (const rules of [V3, V4]) {
      for (const word of blockedKeyWords(rules)) {
        assert.equal(checkDestinationKey(word, rules).allowed, false, word);
        assert.equal(checkDestinationKey(`x_${word.toUpperCase()}_y`, rules).allowed, false, word);
      }
    }
  });

  test('litellm-v3 blocks the word token (CLISSO-FILTER-01); litellm-v4 keeps it and blocks the rest (CLISSO-FILTER-08)', () => {
    for (const key of ['token', 'tokenizer', 'csrf_token', 'TOKEN']) {
      assert.equal(checkDestinationKey(key, V3).allowed, false, key);
      assert.equal(checkDestinationKey(key, V4).allowed, true, key);
    }
    for (const key of ['access_token', 'my_id_token', 'refresh_token_x', 'secret'])
      assert.equal(checkDestinationKey(key, V4).allowed, false, key);
    assert.deepEqual(
      BLOCKED_KEY_WORDS.filter((w) => !blockedKeyWords(V4).includes(w)),
      ['token'],
    );
  });

  test('keys outside ^[A-Za-z0-9_.-]+$ are refused', () => {
    for (const key of ['a b', 'a/b', 'ключ', 'a:b', '']) assert.equal(checkDestinationKey(key, V4).allowed, false, key);
    for (const key of ['a', 'org.cost_center', 'A-1']) assert.equal(checkDestinationKey(key, V4).allowed, true, key);
  });

  test('values: scalars only, strings up to 1024 characters, no JWT-looking strings', () => {
    assert.equal(isAllowedMetadataValue('x'.repeat(1024)), true);
    assert.equal(isAllowedMetadataValue('x'.repeat(1025)), false);
    assert.equal(isAllowedMetadataValue(42), true);
    assert.equal(isAllowedMetadataValue(false), true);
    for (const v of [null, undefined, [], ['a'], {}, { a: 1 }, Number.NaN])
      assert.equal(isAllowedMetadataValue(v), false);
    assert.equal(looksLikeJwt('eyJhbGciOi.eyJzdWIi.sig'), true);
    assert.equal(looksLikeJwt('eyJonly.one'), false);
    assert.equal(looksLikeJwt('abc.def.ghi'), false);
  });

  test('no key with a blocked word ever reaches the metadata', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 30 })), (claims) => {
        const mappings = Object.keys(claims).map((k) => ({ source: k, destination: k }));
        for (const rules of [V3, V4]) {
          for (const key of Object.keys(buildAttributionMetadata(mappings, claims, rules))) {
            assert.ok(/^[A-Za-z0-9_.-]+$/.test(key));
            assert.ok(!blockedKeyWords(rules).some((w) => key.toLowerCase().includes(w)));
          }
        }
      }),
    );
  });
});

describe('attribution metadata (docs/contract.md section 5, result)', () => {
  test('maps captured claims and drops uncaptured ones', () => {
    const mappings = parseClaimMap('employment_type->acme_employment_type,org_info.department->department,missing->x');
    const captured = { employment_type: 'full_time', 'org_info.department': 'Engineering' };
    assert.deepEqual(buildAttributionMetadata(mappings, captured, V4), {
      acme_employment_type: 'full_time',
      department: 'Engineering',
    });
  });

  test('litellm-v3 stores dotted keys nested and numeric strings as numbers (CLISSO-CLAIMS-07)', () => {
    const flat = { 'org.cost_center': 'CC-42', 'org.size': '42', flag: true, n: '007' };
    assert.deepEqual(nestAttributionMetadata(flat, V3), {
      org: { cost_center: 'CC-42', size: 42 },
      flag: true,
      n: '007',
    });
  });

  test("litellm-v4 stores dotted keys nested and keeps the IdP's value types (CLISSO-CLAIMS-11)", () => {
    const flat = { 'org.cost_center': 'CC-42', 'org.size': '42', flag: true, n: 7, d: '-3.25' };
    assert.deepEqual(nestAttributionMetadata(flat, V4), {
      org: { cost_center: 'CC-42', size: '42' },
      flag: true,
      n: 7,
      d: '-3.25',
    });
  });

  test('merging is one level deep for objects', () => {
    assert.deepEqual(mergeUserMetadata({ org: { a: 1, b: 2 }, keep: 'x' }, { org: { b: 3 }, add: 'y' }), {
      org: { a: 1, b: 3 },
      keep: 'x',
      add: 'y',
    });
  });
});
