#!/usr/bin/env node
// Stands in for a web browser in the CLI's BROWSER variable: records the URL the CLI asked to open
// (one per line) in the file named by SSO_CONFORMANCE_BROWSER_LOG, so the harness can open it in
// Playwright. Exits at once, as a real browser launcher does.
import { appendFileSync } from 'node:fs';

const url = process.argv[2];
const log = process.env.SSO_CONFORMANCE_BROWSER_LOG;
if (url && log) appendFileSync(log, `${url}\n`);
