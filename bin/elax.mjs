#!/usr/bin/env node
// Entry point of the `elax` command. The code base is TypeScript run through tsx
// (esbuild transform on import), so there is no build step between a clone and a server.
import { register } from 'tsx/esm/api';

register();
await import('../cli/main.ts');
