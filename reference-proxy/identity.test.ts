/**
 * Unit tests: identity (docs/contract.md section 4) and claim mapping with secret filtering
 * (section 5), from userinfo to the poll answer's flat metadata and the stored nested form.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildAttributionMetadata,
  CLAIM_RULES,
  nestAttributionMetadata,
  parseClaimMap,
} from '../protocol/claim-map.ts';
import type { IdentityAttributes } from './config.ts';
import {
  buildIdentity,
  captureExtraAttributes,
  IDENTITY_LIMITS,
  isEmailDomainAllowed,
  readClaim,
  readTeams,
  splitClaimPath,
} from './identity.ts';

const ATTRIBUTES: IdentityAttributes = {
  userId: 'preferred_username',
  email: 'email',
  displayName: 'sub',
  firstName: 'given_name',
  lastName: 'family_name',
  role: 'role',
  teams: 'teams',
  extra: [],
};

describe('claim paths', () => {
  test('dots walk into objects, \\. is a literal dot, a leading metadata. is ignored', () => {
    assert.deepEqual(splitClaimPath('org_info.department'), ['org_info', 'department']);
    assert.deepEqual(splitClaimPath('org\\.unit.name'), ['org.unit', 'name']);
    assert.deepEqual(splitClaimPath('metadata.team.id'), ['team', 'id']);
    const userinfo = { org_info: { department: 'Eng' }, 'org.unit': { name: 'R&D' }, list: ['a'] };
    assert.equal(readClaim(userinfo, 'org_info.department'), 'Eng');
    assert.equal(readClaim(userinfo, 'org\\.unit.name'), 'R&D');
    assert.equal(readClaim(userinfo, 'org_info.missing'), undefined);
    assert.equal(readClaim(userinfo, 'list.0'), undefined, 'no indexing into lists');
    assert.equal(readClaim(userinfo, 'toString'), undefined, 'only own properties');
  });
});

describe('buildIdentity', () => {
  test('user id from the id attribute, email lower-cased, known role kept', () => {
    const result = buildIdentity(
      {
        preferred_username: 'dana',
        email: ' Dana@Example.COM ',
        role: 'proxy_admin',
        sub: 's-1',
        teams: ['t1', 't1', 2],
      },
      ATTRIBUTES,
    );
    assert.deepEqual(result, {
      ok: true,
      identity: {
        userId: 'dana',
        email: 'dana@example.com',
        emailNotUsed: null,
        displayName: 's-1',
        firstName: null,
        lastName: null,
        role: 'proxy_admin',
        teams: ['t1', '2'],
      },
    });
  });

  test('falls back to first + last name, then to the email; none at all is refused', () => {
    const byName = buildIdentity({ given_name: 'Ada', family_name: 'Lovelace', email: 'a@x.org' }, ATTRIBUTES);
    assert.equal(byName.ok && byName.identity.userId, 'Ada Lovelace');
    const byEmail = buildIdentity({ email: 'A@X.org', preferred_username: '  ' }, ATTRIBUTES);
    assert.equal(byEmail.ok && byEmail.identity.userId, 'a@x.org');
    assert.equal(buildIdentity({ sub: 'only-sub' }, ATTRIBUTES).ok, false);
  });

  test('an unknown or non-string role is ignored', () => {
    for (const role of ['admin', 'PROXY_ADMIN', 42, ['proxy_admin'], null]) {
      const result = buildIdentity({ preferred_username: 'x', role }, ATTRIBUTES);
      assert.equal(result.ok && result.identity.role, null, JSON.stringify(role));
    }
  });

  test('teams from a list or a comma string', () => {
    assert.deepEqual(readTeams('a, b,,a'), ['a', 'b']);
    assert.deepEqual(readTeams([{ id: 1 }, 'x', '']), ['x']);
    assert.deepEqual(readTeams({ a: 1 }), []);
  });
});

describe('emails that must not name anyone (CLISSO-IDENTITY-07, CLISSO-IDENTITY-08)', () => {
  const reasonOf = (result: ReturnType<typeof buildIdentity>) => (result.ok ? '' : result.reason);

  test('an email the IdP marks unverified is neither the user id nor stored', () => {
    for (const verified of [false, 'false', 'FALSE']) {
      const result = buildIdentity({ email: 'vera@kiwi.example', email_verified: verified }, ATTRIBUTES);
      assert.equal(result.ok, false, `email_verified: ${JSON.stringify(verified)} must not fall back to the email`);
      assert.match(reasonOf(result), /unverified/);
      const named = buildIdentity(
        { preferred_username: 'mallory', email: 'vera@kiwi.example', email_verified: verified },
        ATTRIBUTES,
      );
      assert.ok(named.ok);
      assert.equal(named.identity.email, null);
      assert.match(named.identity.emailNotUsed ?? '', /unverified/);
    }
    for (const verified of [true, 'true', undefined]) {
      const result = buildIdentity({ email: 'Vera@Kiwi.example', email_verified: verified }, ATTRIBUTES);
      assert.equal(result.ok && result.identity.userId, 'vera@kiwi.example', JSON.stringify(verified));
    }
  });

  test('an email NFKC would change (the Kelvin sign, full-width letters, ligatures) refuses the login', () => {
    for (const email of ['VERA@\u212Aiwi.example', 'vera@ｋiwi.example', 'oﬃce@kiwi.example']) {
      const result = buildIdentity({ preferred_username: 'mallory', email }, ATTRIBUTES);
      assert.equal(result.ok, false, email);
      assert.match(reasonOf(result), /"email" claim is not in Unicode normal form NFKC/);
    }
  });

  test('an email that is not one plain address refuses the login', () => {
    for (const email of [
      'x@evil.example@example.com',
      'no-at-sign',
      '@example.com',
      'a b@example.com',
      '"quoted"@example.com',
      '.dot@example.com',
      'a..b@example.com',
      'a@example..com',
      'a@-example.com',
      'a@example.com.',
      `${'l'.repeat(65)}@example.com`,
      `a@${'d'.repeat(250)}.com`,
    ]) {
      const result = buildIdentity({ preferred_username: 'mallory', email }, ATTRIBUTES);
      assert.equal(result.ok, false, email);
      assert.match(reasonOf(result), /"email" claim/, email);
    }
    for (const email of [
      'first.last+tag@mail.example.com',
      "o'brien@example.ie",
      'josé@bücher.example',
      'a@localhost',
    ]) {
      const result = buildIdentity({ preferred_username: 'p', email }, ATTRIBUTES);
      assert.equal(result.ok && result.identity.email, email.toLowerCase(), email);
    }
  });
});

describe('identities of hostile length or content (CLISSO-IDENTITY-09)', () => {
  const longest = 'u'.repeat(IDENTITY_LIMITS.text);

  test('the user id, names and team ids are bounded and refuse control characters', () => {
    assert.equal(buildIdentity({ preferred_username: longest }, ATTRIBUTES).ok, true);
    const refused: Record<string, unknown>[] = [
      { preferred_username: `${longest}u` },
      { preferred_username: 'x'.repeat(20_000) },
      { preferred_username: 'dana\u0000' },
      { preferred_username: 'dana\u001b]0;pwned\u0007' },
      { preferred_username: 'dana\ud800' },
      { given_name: 'x'.repeat(300), family_name: 'y' },
      { preferred_username: 'p', sub: 'x'.repeat(257) },
      { preferred_username: 'p', teams: ['t'.repeat(IDENTITY_LIMITS.teamId + 1)] },
      { preferred_username: 'p', teams: ['ok', 'bad\nteam'] },
      { preferred_username: 'p', teams: Array.from({ length: IDENTITY_LIMITS.teams + 1 }, (_, i) => `t${i}`) },
    ];
    for (const userinfo of refused) {
      const result = buildIdentity(userinfo, ATTRIBUTES);
      assert.equal(result.ok, false, JSON.stringify(userinfo).slice(0, 80));
    }
    // Code points, not UTF-16 units: 256 emoji are 512 units and still accepted.
    assert.equal(buildIdentity({ preferred_username: '😀'.repeat(IDENTITY_LIMITS.text) }, ATTRIBUTES).ok, true);
  });

  test('a first and last name that are each short but together too long are refused', () => {
    const half = 'n'.repeat(200);
    assert.equal(buildIdentity({ given_name: half, family_name: half }, ATTRIBUTES).ok, false);
  });
});

describe('ALLOWED_EMAIL_DOMAINS', () => {
  test('empty list allows all; otherwise the exact domain after the last @', () => {
    assert.equal(isEmailDomainAllowed(null, []), true);
    assert.equal(isEmailDomainAllowed('a@example.com', ['example.com']), true);
    assert.equal(isEmailDomainAllowed('a@sub.example.com', ['example.com']), false);
    assert.equal(isEmailDomainAllowed('a@example.com.evil.org', ['example.com']), false);
    assert.equal(isEmailDomainAllowed(null, ['example.com']), false);
  });
});

const V3 = CLAIM_RULES['litellm-v3'];

describe('claim mapping (docs/contract.md section 5)', () => {
  const metadataFor = (claimMap: string, extra: string[], userinfo: Record<string, unknown>) =>
    buildAttributionMetadata(parseClaimMap(claimMap), captureExtraAttributes(userinfo, extra), V3);

  test("the protocol's example", () => {
    const flat = metadataFor(
      'employment_type->acme_employment_type,org_info.department->department',
      ['employment_type', 'org_info.department'],
      { employment_type: 'full_time', org_info: { department: 'Engineering' } },
    );
    assert.deepEqual(flat, { acme_employment_type: 'full_time', department: 'Engineering' });
  });

  test('only captured claims are reachable; missing ones yield nothing', () => {
    const flat = metadataFor(
      'employment_type->a, org_info.department->b, missing->c',
      ['org_info.department', 'missing'],
      {
        employment_type: 'x',
        org_info: { department: 'Eng' },
      },
    );
    assert.deepEqual(flat, { b: 'Eng' });
  });

  test('secret-looking destinations, lists, objects, nulls, long strings and JWTs are dropped', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';
    const userinfo = { v: 'ok', list: ['a'], obj: { a: 1 }, nil: null, long: 'x'.repeat(1025), jwt, n: 7, b: false };
    const flat = metadataFor(
      'v->api_key, v->my_Token_x, v->tokenizer, v->bad key, v->kept, list->l, obj->o, nil->z, long->lg, jwt->j, n->num, b->flag, v->__proto__.x',
      Object.keys(userinfo),
      userinfo,
    );
    assert.deepEqual(flat, { kept: 'ok', num: 7, flag: false });
    assert.equal(({} as Record<string, unknown>)['x'], undefined);
  });

  test('stored nested (numeric strings as numbers under litellm-v3 only); returned flat with strings unchanged', () => {
    const flat = metadataFor('cc->org.cost_center, d->metadata.org.dept', ['cc', 'd'], { cc: '42', d: 'R&D' });
    assert.deepEqual(flat, { 'org.cost_center': '42', 'org.dept': 'R&D' });
    assert.deepEqual(nestAttributionMetadata(flat, V3), { org: { cost_center: 42, dept: 'R&D' } });
    assert.deepEqual(nestAttributionMetadata(flat, CLAIM_RULES['litellm-v4']), {
      org: { cost_center: '42', dept: 'R&D' },
    });
  });

  test('a path named __proto__ is captured as data, never as a prototype', () => {
    const captured = captureExtraAttributes(JSON.parse('{"__proto__": {"polluted": true}}'), ['__proto__']);
    assert.equal(Object.getPrototypeOf(captured), null);
    assert.deepEqual(Object.keys(captured), ['__proto__']);
  });
});
