#!/usr/bin/env node
/** The `loom` executable. */
import { run } from './cli.js';
import { watchLauncher } from './launcher.js';

// A rank started by `loom launch` ends when its launcher does (even one killed with SIGKILL).
watchLauncher();

// `loom predict … | head`: the reader went away; stop quietly, as Unix tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

process.exitCode = await run(process.argv.slice(2));
