/**
 * `fit` across processes (PyTorch DDP's model, one level above the worker threads): the process
 * group torchrun's variables describe, and what the ranks agree on before the first step.
 */
import { createHash } from 'node:crypto';
import { groupOptionsFromEnv, initProcessGroup, type ProcessGroup } from '@loom/collective';
import { shutdown as endWorkerPool } from '@loom/coordinator';
import type { Sequential as Graph } from '@loom/layers';
import type { Optimizer } from '@loom/optimizers';

let fromEnv: Promise<ProcessGroup | null> | null = null;

/**
 * The group that torchrun's variables (`WORLD_SIZE` > 1, `RANK`, `MASTER_ADDR`, `MASTER_PORT`,
 * `LOOM_DIST_TOKEN`) describe, joined on first use and kept for the process's life (`shutdown()`
 * leaves it); null without them. This is the group `fit` uses when its `group` option is unset.
 */
export function processGroupFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<ProcessGroup | null> {
  if (!fromEnv) {
    const options = groupOptionsFromEnv(env);
    const joining = !options || options.worldSize === 1 ? Promise.resolve(null) : initProcessGroup(options);
    fromEnv = joining;
    // A failed rendezvous is not cached: the next call tries again.
    joining.catch(() => { if (fromEnv === joining) fromEnv = null; });
  }
  return fromEnv;
}

/** Leaves the group `processGroupFromEnv` joined, if any. */
export async function leaveProcessGroupFromEnv(): Promise<void> {
  const joining = fromEnv;
  fromEnv = null;
  const group = joining ? await joining.catch(() => null) : null;
  await group?.close();
}

/**
 * A digest of what every rank must have in common for the ranks to train one model: the model
 * and optimizer configuration, the fit options, and every byte of the training data. The weights
 * are not in it: rank 0's are broadcast.
 */
export function trainingFingerprint(model: Graph, optimizer: Optimizer, settings: Record<string, unknown>, data: readonly Float32Array[]): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({
    model: model.getConfig(), inputShape: model.inputShape, optimizer: { name: optimizer.name, config: optimizer.getConfig(), iterations: optimizer.iterations },
    ...settings,
  }));
  for (const a of data) {
    hash.update(String(a.length));
    hash.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  }
  return hash.digest('hex');
}

/**
 * Before the first step: every rank checks that it trains what rank 0 trains (the fingerprints
 * must match, or every rank fails with the ranks that differ named), then takes rank 0's seed,
 * weights and optimizer state, as DDP broadcasts rank 0's parameters. Resolves to the seed.
 */
export async function agreeOnStart(group: ProcessGroup, model: Graph, optimizer: Optimizer, fingerprint: string, seed: number): Promise<number> {
  const all = await group.allGather(fingerprint);
  const differing = all.flatMap((f, rank) => (f === all[0] ? [] : [rank]));
  if (differing.length > 0) {
    throw new Error(`fit: rank${differing.length > 1 ? 's' : ''} ${differing.join(', ')} of ${group.worldSize} train${differing.length > 1 ? '' : 's'} a different model, ` +
      `with different fit options or data, than rank 0 (fingerprints ${differing.map((r) => all[r]!.slice(0, 12)).join(', ')} against ${all[0]!.slice(0, 12)}): ` +
      'every rank must run the same command on the same data');
  }
  const mine = new Uint8Array(8);
  new DataView(mine.buffer).setFloat64(0, seed, true);
  const got = await group.broadcast(group.rank === 0 ? mine : null, 0);
  if (got.byteLength !== 8) throw new Error(`fit: rank 0 sent a seed of ${got.byteLength} bytes, expected 8`);
  const agreed = new DataView(got.buffer, got.byteOffset, 8).getFloat64(0, true);
  await group.broadcastInto(model.params, 0);
  if (optimizer.built) for (const slot of optimizer.slots[0]!) await group.broadcastInto(slot, 0);
  return agreed;
}

/**
 * Ends the process's worker threads and leaves the group `fit` joined from torchrun's variables.
 * Optional: neither holds the process open.
 */
export async function shutdown(): Promise<void> {
  await Promise.all([endWorkerPool(), leaveProcessGroupFromEnv()]);
}
