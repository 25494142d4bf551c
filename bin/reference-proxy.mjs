#!/usr/bin/env node
// `reference-proxy`: runs reference-proxy/main.ts through tsx in this same process, so $! is the real PID.
import { register } from 'tsx/esm/api';

register();
await import('../reference-proxy/main.ts');
