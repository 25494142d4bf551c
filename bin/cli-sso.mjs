#!/usr/bin/env node
// `cli-sso`: cli/main.ts in a checkout, dist/cli/main.js when installed (run-command.mjs).
import { runCommand } from './run-command.mjs';

await runCommand('cli/main');
