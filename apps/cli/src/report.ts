/** Small formatting helpers shared by the commands. */
import { Dense, type Sequential } from '@loom/loom';

/** "784-500-500-10": input size, then the units of each dense layer (other layers keep the width). */
export function architecture(model: Sequential): string {
  // An MLP by its widths (784-500-500-10); any other model by its layers, in Keras's terms.
  if (model.layers.every((l) => l instanceof Dense || l.className === 'Dropout' || l.className === 'Activation') && model.inputShape.length === 1) {
    const sizes = [model.inputSize];
    for (const layer of model.layers) if (layer instanceof Dense) sizes.push(layer.units);
    return sizes.join('-');
  }
  return model.layers.map(describeLayer).join(' → ');
}

/** "Conv2D 32 3×3", "MaxPooling2D 2×2", "Dropout 0.5", "Dense 10": a layer in a line. */
function describeLayer(layer: Sequential['layers'][number]): string {
  const c = layer.getConfig() as Record<string, unknown>;
  const pair = (v: unknown) => (Array.isArray(v) ? v.join('×') : String(v));
  if (c.filters !== undefined) return `${layer.className} ${String(c.filters)} ${pair(c.kernelSize)}`;
  if (c.poolSize !== undefined) return `${layer.className} ${pair(c.poolSize)}`;
  if (c.units !== undefined) return `${layer.className} ${String(c.units)}`;
  if (c.rate !== undefined) return `${layer.className} ${String(c.rate)}`;
  return layer.className;
}

/** 0.97123 → "97.12%". */
export function percent(x: number, digits = 2): string {
  return `${(x * 100).toFixed(digits)}%`;
}

/** Keras-style "loss: 0.1234 - accuracy: 0.9650". */
export function formatLogs(logs: Record<string, number>): string {
  return Object.entries(logs).map(([k, v]) => `${k}: ${v.toFixed(4)}`).join(' - ');
}

/** One JSON object on one line of stdout (non-finite numbers become null, as JSON requires). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}
