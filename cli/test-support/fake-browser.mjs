#!/usr/bin/env node
// A stand-in browser for BROWSER in tests: records the URL it was given (FAKE_BROWSER_LOG), then
// visits it, as a person would after reading the CLI's instructions.
import { appendFileSync } from 'node:fs';

const url = process.argv[2] ?? '';
if (process.env.FAKE_BROWSER_LOG)
  appendFileSync(process.env.FAKE_BROWSER_LOG, `${JSON.stringify(process.argv.slice(2))}\n`);
if (process.env.FAKE_BROWSER_VISIT !== 'no') await fetch(url).then((r) => r.arrayBuffer());
