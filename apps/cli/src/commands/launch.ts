/** `loom launch --nproc-per-node N -- COMMAND…`: N ranks of a loom command, with torchrun's environment. */
import type { Command } from 'commander';
import { DEFAULT_GRACE_PERIOD_S, DEFAULT_MASTER_ADDR, DEFAULT_MASTER_PORT, Launcher, resolveLaunchConfig, type LaunchFlags } from '../launcher.js';

export function registerLaunch(program: Command): void {
  program
    .command('launch')
    .summary("run N ranks of a loom command on this machine, with torchrun's environment")
    .description(
      'Start --nproc-per-node ranks of a loom command on this machine, each with the environment torchrun gives ' +
        '(WORLD_SIZE, RANK, LOCAL_RANK, MASTER_ADDR, MASTER_PORT, TORCHELASTIC_RESTART_COUNT, …). ' +
        'When a rank fails, the others get SIGTERM (SIGKILL after --grace-period) and the group is restarted up to --max-restarts times; ' +
        'the ranks resume from their own checkpoints. Every setting can also come from the PET_* variable Kubeflow sets; a flag wins over its variable.',
    )
    .usage('[options] -- <command> [options of the command]')
    .argument('[command...]', 'the loom command every rank runs and its options (after --)')
    .option('--nnodes <m>', 'machines in the group (PET_NNODES; default 1)')
    .option('--node-rank <r>', "this machine's place in the group, 0 to nnodes-1 (PET_NODE_RANK; default 0)")
    .option('--nproc-per-node <n>', "ranks to start on this machine (PET_NPROC_PER_NODE; 'auto' is 1: a rank uses every core already)")
    .option('--master-addr <host>', `host of rank 0, where the group meets (PET_MASTER_ADDR; default ${DEFAULT_MASTER_ADDR})`)
    .option('--master-port <port>', `port on that host (PET_MASTER_PORT; default ${DEFAULT_MASTER_PORT})`)
    .option('--max-restarts <k>', 'restart the whole group up to K times after a rank fails (PET_MAX_RESTARTS; default 0)')
    .option('--grace-period <s>', `seconds between SIGTERM and SIGKILL when the ranks are stopped (default ${DEFAULT_GRACE_PERIOD_S})`)
    .option('--verbose', 'show stack traces on errors')
    // `loom launch --nproc-per-node 2 train --epochs 3` works too: options after the command are its own.
    .passThroughOptions()
    .addHelpText('after', [
      '',
      'Examples:',
      '  # one machine, two ranks of one worker thread each',
      '  loom launch --nproc-per-node 2 -- train --epochs 3 --workers 1',
      '',
      '  # two machines: the same secret on both, then one command on each',
      '  export LOOM_DIST_TOKEN=$(openssl rand -hex 32)      # copy it to the other machine',
      '  loom launch --nnodes 2 --node-rank 0 --master-addr 10.0.0.1 --nproc-per-node 1 -- train   # on 10.0.0.1',
      '  loom launch --nnodes 2 --node-rank 1 --master-addr 10.0.0.1 --nproc-per-node 1 -- train   # on the other',
      '',
      '  # Kubeflow (PyTorchJob / TrainJob): it sets PET_NNODES, PET_NODE_RANK, PET_NPROC_PER_NODE,',
      '  # PET_MASTER_ADDR and PET_MASTER_PORT; LOOM_DIST_TOKEN comes from a Secret',
      '  loom launch --max-restarts 3 -- train --checkpoint-dir /ckpt',
      '',
      'A one-machine group gets a random LOOM_DIST_TOKEN when none is set; a group of several machines needs one.',
      'Exit code: 0 when every rank exits 0, 1 when a rank failed and no restarts are left, 130/143 after SIGINT/SIGTERM.',
    ].join('\n'))
    .action(async (command: string[], options: LaunchFlags & { verbose?: boolean }) => {
      const { verbose: _verbose, ...flags } = options;
      process.exitCode = await new Launcher(resolveLaunchConfig(flags, command)).run();
    });
}
