/**
 * The library documentation cannot drift from the code:
 *  - every code block of docs/library.md marked `<!-- example: examples/X.test.ts -->` is exactly
 *    that file, and every docs/examples/*.test.ts is shown (the examples themselves run in npm test);
 *  - every name the three package entry points export has a doc comment, and the public ones (not
 *    `@internal`) have their section in the generated reference, docs/api/.
 * Generating docs/api/ takes about a minute on a busy machine (`npm run docs:api`), too long for
 * every test run; `npm run docs:api:check` regenerates it and compares the whole text.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Entry point (the package.json `exports` key without `./`) -> its source and its reference page. */
const ENTRY_POINTS = ['mock-idp', 'reference-proxy', 'protocol'] as const;

const EXAMPLE_BLOCK = /<!-- example: (\S+) -->\n```ts\n([\s\S]*?)```\n/g;

test('the code blocks of docs/library.md are the example files, and every example is shown', async () => {
  const guide = await readFile(join(ROOT, 'docs/library.md'), 'utf8');
  const shown = new Map<string, string>();
  for (const [, path = '', code = ''] of guide.matchAll(EXAMPLE_BLOCK)) {
    assert.ok(!shown.has(path), `docs/library.md shows ${path} twice`);
    shown.set(path, code);
  }
  const examples = (await readdir(join(ROOT, 'docs/examples'))).filter((name) => name.endsWith('.test.ts')).sort();
  assert.ok(examples.length > 0, 'no docs/examples/*.test.ts');
  assert.deepEqual(
    [...shown.keys()].sort(),
    examples.map((name) => `examples/${name}`),
  );
  for (const [path, code] of shown) {
    const file = await readFile(join(ROOT, 'docs', path), 'utf8');
    assert.equal(code, file, `the block marked ${path} in docs/library.md differs from docs/${path}: copy the file in`);
  }
});

interface Declaration {
  name: string;
  file: string;
  comment: string | undefined;
}

const REEXPORT = /export\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'([^']+)'/g;
const IMPORT = /import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*'([^']+)'/g;

/** The names an index file re-exports (or a file imports), each with the file it comes from. */
function reexports(text: string, pattern = REEXPORT): Array<{ name: string; from: string }> {
  return [...text.matchAll(pattern)].flatMap(([, names = '', from = '']) =>
    names
      .split(',')
      .map((n) => n.trim().replace(/^type\s+/, ''))
      .filter((n) => n !== '')
      .map((name) => ({ name, from })),
  );
}

/** The declaration of `name` in `file` (following re-exports) and the doc comment right above it. */
async function declarationOf(name: string, file: string): Promise<Declaration> {
  const text = await readFile(file, 'utf8');
  const declared = new RegExp(
    `(^|\\n)export (?:declare )?(?:async )?(?:abstract )?(?:function|class|interface|type|const|let|enum) ${name}\\b`,
  ).exec(text);
  if (declared) {
    const before = text.slice(0, declared.index).trimEnd();
    const comment = before.endsWith('*/') ? before.slice(before.lastIndexOf('/**')) : undefined;
    return { name, file, comment };
  }
  // `export { X } from '...'`, or `import { X } from '...'` then `export { X };`.
  const onward =
    reexports(text).find((r) => r.name === name) ??
    (new RegExp(`export \\{[^}]*\\b${name}\\b[^}]*\\};`).test(text)
      ? reexports(text, IMPORT).find((r) => r.name === name)
      : undefined);
  assert.ok(onward, `${name} is neither declared nor re-exported in ${file}`);
  return declarationOf(name, resolve(dirname(file), onward.from));
}

/** The section titles of a generated reference page: `### startMockIdp()` -> `startMockIdp`. */
function sectionNames(page: string): Set<string> {
  return new Set(
    [...page.matchAll(/^### (.+)$/gm)].map(([, title = '']) => title.replace(/\\_/g, '_').replace(/\(\)$/, '')),
  );
}

for (const entry of ENTRY_POINTS) {
  test(`every export of cli-sso-harness/${entry} has a doc comment and, unless @internal, a section in docs/api/${entry}.md`, async () => {
    const index = join(ROOT, entry, 'index.ts');
    const indexText = await readFile(index, 'utf8');
    assert.match(indexText, /@packageDocumentation/, `${entry}/index.ts has no @packageDocumentation comment`);
    const page = await readFile(join(ROOT, 'docs/api', `${entry}.md`), 'utf8');
    const sections = sectionNames(page);
    const exported = reexports(indexText);
    assert.ok(exported.length > 0);
    const undocumented: string[] = [];
    const missing: string[] = [];
    for (const { name, from } of exported) {
      const declaration = await declarationOf(name, resolve(dirname(index), from));
      if (!declaration.comment) undocumented.push(`${name} (${declaration.file.slice(ROOT.length + 1)})`);
      else if (!/@internal\b/.test(declaration.comment) && !sections.has(name)) missing.push(name);
    }
    assert.deepEqual(undocumented, [], 'exports without a doc comment');
    assert.deepEqual(missing, [], `exports missing from docs/api/${entry}.md: run npm run docs:api`);
  });
}
