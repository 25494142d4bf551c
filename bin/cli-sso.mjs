#!/usr/bin/env node
// `cli-sso`: runs cli/main.ts through tsx in this same process, so $! is the real PID.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
