/** Small formatting helpers shared by the commands. */
import { Dense, type Sequential } from '@loom/loom';

/** "784-500-500-10": input size, then the units of each dense layer (other layers keep the width). */
export function architecture(model: Sequential): string {
  const sizes = [model.inputSize];
  for (const layer of model.layers) if (layer instanceof Dense) sizes.push(layer.units);
  return sizes.join('-');
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
