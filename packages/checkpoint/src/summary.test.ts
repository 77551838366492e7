import { describe, expect, it } from 'vitest';
import { fullRecord } from '../test/helpers.js';
import { summarizeCheckpoint } from './index.js';

describe('summarizeCheckpoint', () => {
  it('lists layers, weights, totals, optimizer, progress and the last history values', () => {
    const text = summarizeCheckpoint(fullRecord());
    const lines = text.split('\n');
    expect(lines[0]).toBe('Model: Sequential (2 layers)');
    expect(text).toMatch(/^0 +Dense +dense_1 +units=3, activation=relu, inputShape=\[4\]$/m);
    expect(text).toMatch(/^1 +Dropout +dropout_1 +rate=0\.5$/m);
    expect(text).not.toMatch(/GlorotUniform/);
    expect(text).toMatch(/^dense_1\/kernel +\[4, 3\] +12$/m);
    expect(text).toMatch(/^dense_1\/bias +\[3\] +3$/m);
    expect(text).toMatch(/^Total params: 15$/m);
    expect(text).toMatch(/^Compile: loss=categorical_crossentropy, metrics=\[accuracy\]$/m);
    expect(text).toMatch(/^Optimizer: adam, 1,234 iterations, slots m, v$/m);
    expect(text).toMatch(/^Progress: epoch 7, step 12, global step 8589934592, seed 42$/m);
    expect(text).toMatch(/^History: 3 epochs, last epoch 2: loss 0\.3, accuracy 0, val_loss 1e-300$/m);
    expect(text).toMatch(/^ {2}loom: 0\.1\.0$/m);
    expect(text).toMatch(/^Input scaling: standard, 4 features \(\(x - offset\) \/ scale, fitted on the training samples\)$/m);
  });

  it('handles a bare model', () => {
    const text = summarizeCheckpoint({ model: { className: 'Sequential', layers: [] }, weights: [] });
    expect(text).toMatch(/Total params: 0/);
    expect(text).toMatch(/Optimizer: none saved/);
    expect(text).not.toMatch(/Input scaling/);
  });
});
