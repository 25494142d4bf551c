#!/usr/bin/env node
// `sso-conformance`: runs features/main.ts through tsx in this same process, so $! is the real PID.
import { register } from 'tsx/esm/api';

register();
await import('../features/main.ts');
