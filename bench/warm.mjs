// Fresh-process warm-up: ms/step per 60-step window over the first 1200 steps (batch 100).
import { createEngine, shutdown } from '@loom/coordinator';
import { Sequential, layers } from '@loom/layers';
import { Adam } from '@loom/optimizers';
import { setSeed, loadMnist } from '@loom/loom';
const workers = Number(process.argv[2] ?? 2), batch = 100;
setSeed(1);
const model = new Sequential([layers.dense({ units: 500, inputShape: [784], activation: 'relu' }), layers.dense({ units: 500, activation: 'relu' }), layers.dense({ units: 10, activation: 'softmax' })]);
model.build();
const { train } = await loadMnist();
const t00 = performance.now();
const engine = await createEngine({ model, optimizer: new Adam(), loss: 'categorical_crossentropy', metrics: ['accuracy'], workers, maxRows: batch, labelWidth: 10 });
const tEngine = performance.now() - t00;
const x = train.x.data, labels = train.y;
const out = [];
let t0 = performance.now();
for (let s = 0; s < 1200; s++) {
  const from = (s * batch) % 60000;
  engine.x.set(x.subarray(from * 784, (from + batch) * 784));
  engine.y.fill(0); for (let r = 0; r < batch; r++) engine.y[r * 10 + labels[from + r]] = 1;
  await engine.trainStep(batch, 1, s);
  if ((s + 1) % 60 === 0) { const t = performance.now(); out.push(((t - t0) / 60).toFixed(2)); t0 = t; }
}
console.log(`${process.execArgv.join(' ')} workers ${workers}: engine ${tEngine.toFixed(0)} ms; ms/step per 60 steps: ${out.join(' ')}`);
await engine.close();
await shutdown();
