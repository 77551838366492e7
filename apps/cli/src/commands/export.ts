/** `loom export CKPT --format tfjs|onnx --out PATH`: a checkpoint as a model other runtimes serve. */
import { extname } from 'node:path';
import { Option, type Command } from 'commander';
import { interop, loadModel, toInteropModel, writeTfjsModel } from '@loom/loom';
import { EXIT, UsageError } from '../errors.js';

export interface ExportOptions {
  format: 'tfjs' | 'onnx';
  out: string;
  verbose?: boolean;
}

export function registerExport(program: Command): void {
  program
    .command('export')
    .summary('write a checkpoint as a TensorFlow.js Layers model or an ONNX file')
    .description(
      'Export a model for serving elsewhere. --format tfjs writes a folder with model.json and float32 weight ' +
        'shards for tf.loadLayersModel; --format onnx writes one .onnx file for onnxruntime. Layers and weights ' +
        'only (no optimizer state). A layer or activation the format cannot express is an error naming it.',
    )
    .argument('<checkpoint>', 'a .loom checkpoint (or a TensorFlow.js model.json)')
    .addOption(new Option('--format <format>', 'the format to write').choices(['tfjs', 'onnx']).makeOptionMandatory())
    .requiredOption('--out <path>', 'tfjs: the folder to write (created if needed); onnx: the .onnx file')
    .option('--verbose', 'show stack traces on errors')
    .addHelpText('after', [
      '',
      'Examples:',
      '  loom export checkpoints/ckpt-2.loom --format tfjs --out web/      # web/model.json + web/group1-shard1of1.bin',
      '  loom export checkpoints/ckpt-2.loom --format onnx --out model.onnx',
    ].join('\n'))
    .action(async (ckpt: string, options: ExportOptions) => { process.exitCode = await exportModel(ckpt, options); });
}

export async function exportModel(ckpt: string, o: ExportOptions): Promise<number> {
  if (o.format === 'onnx' && extname(o.out).toLowerCase() !== '.onnx') throw new UsageError(`--out ${o.out}: an ONNX export is one file ending in .onnx`);
  const record = toInteropModel(await loadModel(ckpt));
  if (o.format === 'tfjs') {
    const path = await writeTfjsModel(o.out, record);
    process.stderr.write(`Wrote a TensorFlow.js Layers model to ${path}\n`);
  } else {
    await interop.writeOnnxFile(o.out, record);
    process.stderr.write(`Wrote an ONNX model to ${o.out}\n`);
  }
  return EXIT.ok;
}
