#!/usr/bin/env node
// `mock-idp`: mock-idp/main.ts in a checkout, dist/mock-idp/main.js when installed (run-command.mjs).
import { runCommand } from './run-command.mjs';

await runCommand('mock-idp/main');
