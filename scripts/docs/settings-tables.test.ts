/** The settings tables in the READMEs are the ones the code reads with (npm run docs:settings). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expectedReadme, SETTINGS_DOCS } from './settings-tables.ts';

for (const { file, table } of SETTINGS_DOCS) {
  test(`${file} shows every setting as the code reads it`, async () => {
    const { now, expected } = await expectedReadme(file, table);
    assert.ok(now === expected, `${file}: its settings table differs from the code's; run npm run docs:settings`);
  });
}
