#!/usr/bin/env node
/** Entry point: `node bench/dist/run.js [suites…] [--quick]` (see `--help`). */
import { main } from './cli.js';

process.exitCode = await main(process.argv.slice(2));
