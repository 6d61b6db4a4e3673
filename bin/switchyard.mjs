#!/usr/bin/env node
// `npx switchyard …`: runs the TypeScript CLI through tsx (no build step).
import { register } from 'tsx/esm/api';

register();
await import('../functions/local/cli.ts');
