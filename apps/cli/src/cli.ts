/**
 * The `loom` program: commander parses (with `--help` on every command), each command lives in
 * `commands/`, and every failure comes back here to become one stderr line and an exit code.
 */
import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { shutdown } from '@loom/loom';
import { registerBench } from './commands/bench.js';
import { registerEvaluate } from './commands/evaluate.js';
import { registerExport } from './commands/export.js';
import { registerInspect } from './commands/inspect.js';
import { registerLaunch } from './commands/launch.js';
import { registerPredict } from './commands/predict.js';
import { registerTrain } from './commands/train.js';
import { EXIT, oneLine, reportError } from './errors.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** Builds the program. Parse errors throw CommanderError (exitOverride) instead of exiting. */
export function createProgram(): Command {
  const program = new Command('loom')
    .description('Loom: train, evaluate and run Keras-style neural networks on all CPU cores.')
    .version(version, '-V, --version')
    // Set before the subcommands are added: .command() copies both settings into each of them.
    .exitOverride()
    .configureOutput({
      // commander writes "error: …" (and sometimes a second line with a suggestion); make it one line.
      outputError: (text, write) => write(`loom: ${oneLine(text)}\n`),
    })
    .showSuggestionAfterError()
    // Options after a subcommand belong to it; `loom bench NAME --x` passes --x to the suite.
    .enablePositionalOptions();
  registerTrain(program);
  registerEvaluate(program);
  registerPredict(program);
  registerInspect(program);
  registerExport(program);
  registerLaunch(program);
  registerBench(program);
  program.addHelpText('after', [
    '',
    'Exit codes: 0 success, 1 runtime error, 2 usage error, 130 interrupted (Ctrl-C; a checkpoint was saved).',
    'Run `loom <command> --help` for the options of each command.',
  ].join('\n'));
  return program;
}

/** Runs `loom` with `argv` (the user's arguments, without node and the script) and returns the exit code. */
export async function run(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    process.exitCode = undefined;
    if (argv.length === 0) {
      program.outputHelp({ error: true });
      return EXIT.usage;
    }
    await program.parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? EXIT.ok);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version "errors" are how commander stops after printing them.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return EXIT.ok;
      if (err.code === 'commander.executeSubCommandAsync') return err.exitCode;
      return EXIT.usage; // already printed through outputError
    }
    return reportError(err, argv.includes('--verbose'));
  } finally {
    // Ends the worker pool and says goodbye to a process group `loom train` joined, so a rank
    // that finishes first leaves cleanly instead of looking lost to the ranks still reporting.
    await shutdown();
  }
}
