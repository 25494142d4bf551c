/**
 * Unit tests: identity (docs/contract.md section 4) and claim mapping with secret filtering
 * (section 5), from userinfo to the poll answer's flat metadata and the stored nested form.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildAttributionMetadata, nestAttributionMetadata, parseClaimMap } from '../protocol/claim-map.ts';
import type { IdentityAttributes } from './config.ts';
import {
  buildIdentity,
  captureExtraAttributes,
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

describe('ALLOWED_EMAIL_DOMAINS', () => {
  test('empty list allows all; otherwise the exact domain after the last @', () => {
    assert.equal(isEmailDomainAllowed(null, []), true);
    assert.equal(isEmailDomainAllowed('a@example.com', ['example.com']), true);
    assert.equal(isEmailDomainAllowed('a@sub.example.com', ['example.com']), false);
    assert.equal(isEmailDomainAllowed('a@example.com.evil.org', ['example.com']), false);
    assert.equal(isEmailDomainAllowed(null, ['example.com']), false);
  });
});

describe('claim mapping (docs/contract.md section 5)', () => {
  const metadataFor = (claimMap: string, extra: string[], userinfo: Record<string, unknown>) =>
    buildAttributionMetadata(parseClaimMap(claimMap), captureExtraAttributes(userinfo, extra));

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

  test('stored nested with numeric strings as numbers; returned flat with strings unchanged', () => {
    const flat = metadataFor('cc->org.cost_center, d->metadata.org.dept', ['cc', 'd'], { cc: '42', d: 'R&D' });
    assert.deepEqual(flat, { 'org.cost_center': '42', 'org.dept': 'R&D' });
    assert.deepEqual(nestAttributionMetadata(flat), { org: { cost_center: 42, dept: 'R&D' } });
  });

  test('a path named __proto__ is captured as data, never as a prototype', () => {
    const captured = captureExtraAttributes(JSON.parse('{"__proto__": {"polluted": true}}'), ['__proto__']);
    assert.equal(Object.getPrototypeOf(captured), null);
    assert.deepEqual(Object.keys(captured), ['__proto__']);
  });
});
