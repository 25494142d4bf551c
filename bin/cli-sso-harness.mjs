#!/usr/bin/env node
// `cli-sso-harness`: scripts/dev/main.ts in a checkout, dist/scripts/dev/main.js when installed (run-command.mjs).
import { runCommand } from './run-command.mjs';

await runCommand('scripts/dev/main');
