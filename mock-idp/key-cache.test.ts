/**
 * The key cache: a start takes the keys a previous run made ahead of time, each generation is used
 * by one start only, and a folder or file that is not the user's own and private is never used.
 */
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { loadMockIdpConfig, startMockIdp } from './index.ts';
import { SPARE_KEYS_FILE } from './key-cache.ts';

const spare = z.object({ keys: z.array(z.object({ kid: z.string(), alg: z.string() })) });

async function spareKids(folder: string): Promise<string[]> {
  return spare.parse(JSON.parse(await readFile(join(folder, SPARE_KEYS_FILE), 'utf8'))).keys.map((k) => k.kid);
}

async function publishedKids(url: string): Promise<string[]> {
  const answer = await fetch(`${url}/jwks`);
  return z
    .object({ keys: z.array(z.object({ kid: z.string() })) })
    .parse(await answer.json())
    .keys.map((k) => k.kid);
}

describe('key cache', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'mock-idp-key-cache-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('a start publishes the keys the previous run left, which then leave the folder; its close leaves new ones', async () => {
    const folder = join(root, 'a', 'cache');
    const first = await startMockIdp({ keyCache: folder });
    const firstKids = await publishedKids(first.url);
    await first.close();
    assert.equal((await stat(folder)).mode & 0o777, 0o700, 'the folder is private');
    assert.equal((await stat(join(folder, SPARE_KEYS_FILE))).mode & 0o777, 0o600, 'the file is private');
    const made = await spareKids(folder);
    assert.equal(made.length, 2);
    assert.ok(!made.some((kid) => firstKids.includes(kid)), 'the spare keys are not the ones the first run used');

    const second = await startMockIdp({ keyCache: folder });
    try {
      assert.deepEqual(await publishedKids(second.url), made, 'the second start publishes the spare keys');
      assert.deepEqual(await readdir(folder), [], 'claimed: no copy is left for another start');
    } finally {
      await second.close();
    }
    const next = await spareKids(folder);
    assert.ok(!next.some((kid) => made.includes(kid)), 'the next spare is a new generation');
  });

  test('a mock that gets no request makes the next keys without waiting to be closed', async () => {
    const folder = join(root, 'idle');
    const idp = await startMockIdp({ keyCache: folder });
    try {
      const deadline = Date.now() + 20_000;
      let made: string[] | undefined;
      while (made === undefined && Date.now() < deadline) {
        made = await spareKids(folder).catch(() => undefined);
        if (made === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal(made?.length, 2, 'the spare keys were written while the mock was running');
      assert.ok(!(await publishedKids(idp.url)).some((kid) => made?.includes(kid)));
    } finally {
      await idp.close();
    }
  });

  test('starts at the same time never publish the same keys', async () => {
    const folder = join(root, 'b');
    await (await startMockIdp({ keyCache: folder })).close();
    const idps = await Promise.all([1, 2, 3].map(() => startMockIdp({ keyCache: folder })));
    try {
      const kids = (await Promise.all(idps.map((idp) => publishedKids(idp.url)))).flat();
      assert.equal(new Set(kids).size, kids.length);
    } finally {
      await Promise.all(idps.map((idp) => idp.close()));
    }
  });

  test('a spare file that others may read, a folder others may read and a linked folder are not used', async () => {
    const folder = join(root, 'c');
    await (await startMockIdp({ keyCache: folder })).close();
    const left = await spareKids(folder);
    await chmod(join(folder, SPARE_KEYS_FILE), 0o644);
    const openFile = await startMockIdp({ keyCache: folder });
    try {
      assert.ok(!(await publishedKids(openFile.url)).some((kid) => left.includes(kid)));
    } finally {
      await openFile.close();
    }

    const openFolder = join(root, 'd');
    await (await startMockIdp({ keyCache: openFolder })).close();
    const inOpenFolder = await spareKids(openFolder);
    await chmod(openFolder, 0o755);
    const idp = await startMockIdp({ keyCache: openFolder });
    try {
      assert.ok(!(await publishedKids(idp.url)).some((kid) => inOpenFolder.includes(kid)));
    } finally {
      await idp.close();
    }
    assert.deepEqual(await spareKids(openFolder), inOpenFolder, 'nothing was taken from or written to that folder');

    const linked = join(root, 'e');
    await symlink(folder, linked);
    await (await startMockIdp({ keyCache: folder })).close();
    const behindLink = await spareKids(folder);
    const throughLink = await startMockIdp({ keyCache: linked });
    try {
      assert.ok(!(await publishedKids(throughLink.url)).some((kid) => behindLink.includes(kid)));
    } finally {
      await throughLink.close();
    }
  });

  test('a spare file that is not a generation of keys is not used, and the start works', async () => {
    const folder = join(root, 'f');
    await mkdir(folder, { mode: 0o700 });
    for (const content of ['not json', '{"keys":[]}', JSON.stringify({ keys: [{ kid: 'x' }, { kid: 'y' }] })]) {
      await writeFile(join(folder, SPARE_KEYS_FILE), content, { mode: 0o600 });
      const idp = await startMockIdp({ keyCache: folder });
      try {
        const kids = await publishedKids(idp.url);
        assert.equal(kids.length, 2);
        assert.ok(!kids.includes('x'));
      } finally {
        await idp.close();
      }
    }
  });

  test('the command keeps its cache in the user cache folder; off, or no home, keeps none; a relative folder is a configuration error', async () => {
    const options = async (env: Record<string, string>, flags = {}) => (await loadMockIdpConfig(env, flags)).options;
    assert.equal((await options({ HOME: '/home/u' })).keyCache, '/home/u/.cache/cli-sso-harness/mock-idp');
    assert.equal(
      (await options({ HOME: '/home/u', XDG_CACHE_HOME: '/var/cache/u' })).keyCache,
      '/var/cache/u/cli-sso-harness/mock-idp',
    );
    assert.equal((await options({ HOME: '/home/u', MOCK_IDP_KEY_CACHE: 'off' })).keyCache, undefined);
    assert.equal((await options({})).keyCache, undefined);
    assert.equal((await options({ HOME: '/home/u' }, { keyCache: '/tmp/k' })).keyCache, '/tmp/k');
    await assert.rejects(options({ MOCK_IDP_KEY_CACHE: 'cache' }), /MOCK_IDP_KEY_CACHE.*absolute folder path/s);
  });
});
