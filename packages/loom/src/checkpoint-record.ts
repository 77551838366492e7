import type { CheckpointRecord } from '@loom/checkpoint';
import type { FeatureScaling } from '@loom/data';
import type { Sequential as Graph } from '@loom/layers';
import { getGlobalRandom } from '@loom/tensor';
import type { History } from './callbacks.js';
import type { TrainingModel } from './training-model.js';

/**
 * What a checkpoint reads from a model: the layer graph plus what `compile` and `fit` added.
 * `Sequential` is one; it is described here rather than imported so that `model.ts` can save
 * itself through this file without an import circle (reading a record back, which has to
 * construct a `Sequential`, lives in `checkpointing.ts`).
 */
export type SavableModel = Graph & TrainingModel & {
  readonly loss: string | null;
  readonly metricNames: string[];
  readonly compiled: boolean;
  readonly trainingHistory: History;
  readonly inputScaling: FeatureScaling | null;
};

/**
 * Model → checkpoint record, for `model.save` and `ModelCheckpoint`. The record holds everything
 * an exact resume needs: layer configs, weights by name, the optimizer's config, step count and
 * slots, the fit seed, how far the run got (epoch, and batch within it with the epoch's running
 * sums), and the History.
 */
export function toCheckpointRecord(model: SavableModel): CheckpointRecord {
  const weights = model.slots.map((s) => ({ name: s.name, shape: s.shape, data: model.params.slice(s.offset, s.offset + s.size) }));
  const rec: CheckpointRecord = {
    model: {
      className: 'Sequential',
      layers: model.getConfig().layers,
      compile: model.compiled ? { loss: model.loss, metrics: model.metricNames, name: model.name, inputShape: model.inputShape } : { name: model.name, inputShape: model.inputShape },
    },
    weights,
  };
  const opt = model.optimizer;
  if (opt) {
    rec.optimizer = {
      name: opt.name,
      config: opt.getConfig(),
      iterations: opt.iterations,
      slots: opt.built ? opt.slotNames.map((name, k) => ({ name, values: opt.slots.map((perParam) => perParam[k]!.slice()) })) : [],
    };
  }
  const p = model.progress;
  rec.progress = { epoch: p.epoch, step: p.step, seed: p.seed >>> 0, rngState: getGlobalRandom().getState(), globalStep: opt?.iterations ?? 0 };
  rec.history = { epochs: [...model.trainingHistory.epoch], metrics: { ...model.trainingHistory.history } };
  if (model.inputScaling) {
    rec.inputScaling = { method: model.inputScaling.method, offset: [...model.inputScaling.offset], scale: [...model.inputScaling.scale] };
  }
  if (p.step > 0) rec.metadata = { epochSums: JSON.stringify(Array.from(p.epochSums)), epochSeen: String(p.epochSeen) };
  return rec;
}
