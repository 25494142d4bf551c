#!/usr/bin/env node
// `sso-conformance`: features/main.ts in a checkout, dist/features/main.js when installed (run-command.mjs).
import { runCommand } from './run-command.mjs';

await runCommand('features/main');
