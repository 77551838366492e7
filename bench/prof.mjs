import { createEngine, shutdown } from '@loom/coordinator';
import { Sequential, layers } from '@loom/layers';
import { Adam } from '@loom/optimizers';
import { setSeed, loadMnist } from '@loom/loom';
const workers = Number(process.argv[2] ?? 2), batch = Number(process.argv[3] ?? 100);
setSeed(1);
const model = new Sequential([layers.dense({ units: 500, inputShape: [784], activation: 'relu' }), layers.dense({ units: 500, activation: 'relu' }), layers.dense({ units: 10, activation: 'softmax' })]);
model.build();
const { train } = await loadMnist();
const engine = await createEngine({ model, optimizer: new Adam(), loss: 'categorical_crossentropy', metrics: ['accuracy'], workers, maxRows: batch, labelWidth: 10, minWorkPerWorker: 0 });
const x = train.x.data, labels = train.y;
const steps = Math.floor(30000 / batch);
for (let rep = 0; rep < 2; rep++) {
  const t0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const from = (s * batch) % 50000;
    engine.x.set(x.subarray(from * 784, (from + batch) * 784));
    engine.y.fill(0); for (let r = 0; r < batch; r++) engine.y[r * 10 + labels[from + r]] = 1;
    await engine.trainStep(batch, 1, s);
  }
  const dt = performance.now() - t0;
  console.log(`rep ${rep}: ${(dt / steps).toFixed(3)} ms/step`);
  await engine.evaluate(x.subarray(0, 784 * 10), new Float32Array(100), 10, 10); // ends the step loop (prints worker timings)
}
await engine.close();
await shutdown();
