import assert from 'node:assert/strict';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkFile } from './check-dependency-rules.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const at = (path: string) => join(ROOT, path);
const rules = (path: string, text: string) => checkFile(at(path), text).map((v) => v.rule);

test('a component importing another component is a violation', () => {
  const found = rules('cli/commands/login.ts', "import { x } from '../../reference-proxy/config.ts';\n");
  assert.deepEqual(found, ['cli/ must not import reference-proxy/ (components never import each other)']);
});

test('a component test may import another component through its index.ts only', () => {
  assert.deepEqual(rules('cli/login.test.ts', "import { startMockIdp } from '../mock-idp/index.ts';\n"), []);
  assert.deepEqual(rules('cli/login.test.ts', "import { x } from '../mock-idp/users.ts';\n"), [
    'tests in cli/ may reach mock-idp/ only through its index.ts',
  ]);
});

test('protocol/ imports nothing of ours and common/ only protocol/', () => {
  assert.equal(rules('protocol/x.ts', "import { a } from '../common/config.ts';\n").length, 1);
  assert.equal(rules('common/x.ts', "import { a } from '../protocol/redact.ts';\n").length, 0);
  assert.equal(rules('common/x.ts', "import { a } from '../cli/index.ts';\n").length, 1);
});

test('features/ never imports the reference proxy or CLI, and reaches mock-idp/ through index.ts', () => {
  assert.equal(rules('features/steps/a.ts', "import { a } from '../../reference-proxy/index.ts';\n").length, 1);
  assert.equal(rules('features/steps/a.ts', "import { a } from '../../cli/index.ts';\n").length, 1);
  assert.equal(rules('features/support/h.ts', "import { a } from '../../mock-idp/index.ts';\n").length, 0);
  assert.equal(rules('features/support/h.ts', "import { a } from '../../mock-idp/users.ts';\n").length, 1);
});

test('only main.ts touches process', () => {
  assert.equal(rules('reference-proxy/config.ts', 'const port = process.env.PORT;\n').length, 1);
  assert.equal(rules('reference-proxy/main.ts', 'const port = process.env.PORT;\n').length, 0);
  assert.equal(rules('reference-proxy/config.test.ts', 'const port = process.env.PORT;\n').length, 0);
});

test('cli/commands/ never imports commander', () => {
  assert.deepEqual(rules('cli/commands/whoami.ts', "import { Command } from 'commander';\n"), [
    'cli/commands/ must not import commander (commander parses; commands act)',
  ]);
});

test('scripts/ reach components through index.ts; bin/ wrappers may run a main.ts', () => {
  assert.equal(rules('scripts/x.ts', "import { a } from '../reference-proxy/config.ts';\n").length, 1);
  assert.equal(rules('scripts/x.ts', "import { a } from '../reference-proxy/index.ts';\n").length, 0);
  assert.equal(rules('bin/x.mjs', "await import('../cli/main.ts');\n").length, 0);
  assert.equal(rules('bin/x.mjs', "await import('../cli/program.ts');\n").length, 1);
});

test('features/ steps reach drivers and pages only through tasks (types excepted)', () => {
  const steps = 'features/steps/a.steps.ts';
  assert.deepEqual(rules(steps, "import { GatewayHttp } from '../drivers/gateway-http.ts';\n"), [
    'features/steps/ may import only types from features/drivers/: go through a task (features/tasks/)',
  ]);
  assert.deepEqual(rules(steps, "import { CliCompletionPage } from '../pages/cli-completion-page.ts';\n"), [
    'features/steps/ may import only types from features/pages/: go through a task (features/tasks/)',
  ]);
  assert.equal(rules(steps, "import { type RunningGateway, settingOf } from '../drivers/gateway.ts';\n").length, 1);
  assert.equal(rules(steps, "import type { HttpAnswer } from '../drivers/gateway-http.ts';\n").length, 0);
  assert.equal(rules(steps, "import { type A, type B } from '../drivers/gateway.ts';\n").length, 0);
  assert.equal(rules(steps, "import {\n  type A,\n  b,\n} from '../drivers/gateway.ts';\n").length, 1);
  assert.equal(rules(steps, "import { startSession } from '../tasks/browser-login.ts';\n").length, 0);
  assert.equal(rules(steps, "import type { ConformanceWorld } from '../support/world.ts';\n").length, 0);
});

test('features/ tasks, the world, drivers and pages never reach up the layers', () => {
  assert.equal(rules('features/tasks/t.ts', "import { x } from '../steps/polling.steps.ts';\n").length, 1);
  assert.equal(rules('features/tasks/t.ts', "import { x } from '../drivers/gateway.ts';\n").length, 0);
  assert.equal(rules('features/tasks/t.ts', "import { x } from '../pages/idp-login-page.ts';\n").length, 0);
  assert.equal(rules('features/support/world.ts', "import { x } from '../tasks/browser-login.ts';\n").length, 1);
  assert.equal(rules('features/support/world.ts', "import { x } from '../drivers/cli.ts';\n").length, 0);
  assert.equal(rules('features/drivers/d.ts', "import { x } from '../tasks/browser-login.ts';\n").length, 1);
  assert.equal(rules('features/pages/p.ts', "import { x } from '../steps/common.steps.ts';\n").length, 1);
  assert.equal(
    rules('features/drivers/d.ts', "import type { ConformanceWorld } from '../support/world.ts';\n").length,
    1,
  );
  assert.equal(
    rules('features/drivers/d.ts', "import { ConfigurationNotOffered } from '../support/skip-reason.ts';\n").length,
    0,
  );
});
