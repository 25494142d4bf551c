#!/usr/bin/env node
// `reference-proxy`: reference-proxy/main.ts in a checkout, dist/reference-proxy/main.js when installed (run-command.mjs).
import { runCommand } from './run-command.mjs';

await runCommand('reference-proxy/main');
