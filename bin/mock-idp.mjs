#!/usr/bin/env node
// `mock-idp`: runs mock-idp/main.ts through tsx in this same process, so $! is the real PID.
import { register } from 'tsx/esm/api';

register();
await import('../mock-idp/main.ts');
