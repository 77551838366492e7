#!/usr/bin/env node
// npm links a `bin` only if its file exists at install time, and dist/ does not exist until
// `npm run build`; this committed file is what npm links, and it loads the built command.
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('loom: error: the CLI is not built (apps/cli/dist/main.js is missing); run `npm run build` first\n');
  process.exit(1);
}
await import(main.href);
