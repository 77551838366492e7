/** @loom/data: IDX/MNIST and CSV loaders, in-memory datasets, shuffling, batching, preprocessing, feature scaling. */
export {
  readIdx,
  readIdxSync,
  parseIdx,
  encodeIdx,
  IDX_DEFAULT_MAX_BYTES,
  IDX_DTYPE_CODES,
  type IdxArray,
  type IdxData,
  type IdxDtype,
  type ReadIdxOptions,
} from './idx.js';
export { loadMnist, mnistFiles, type LoadMnistOptions, type Mnist, type MnistFiles, type MnistSplit } from './mnist.js';
export { readCsv, readCsvChunks, CSV_DEFAULT_MAX_LINE_BYTES, type CsvChunk, type CsvData, type CsvOptions } from './csv.js';
export { Dataset, type BatchesOptions } from './dataset.js';
export { Batch, BatchIterator, PrefetchIterator, gatherRows, type BatchBuffers, type BatchSource } from './batching.js';
export { toCategorical, normalize, checkFinite, type NormalizeOptions, type Normalized } from './preprocess.js';
export { fitScaling, applyScaling, assertScalingMethod, scalingMethods, type FeatureScaling, type ScalingMethod } from './scaling.js';
export { assertBatchSize, assertFraction } from './validate.js';
