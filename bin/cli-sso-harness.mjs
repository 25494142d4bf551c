#!/usr/bin/env node
// `cli-sso-harness` (`npx cli-sso-harness dev`): runs scripts/dev/main.ts through tsx in this same process, so $! is the real PID.
import { register } from 'tsx/esm/api';

register();
await import('../scripts/dev/main.ts');
