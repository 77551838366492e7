/** @loom/bench: Loom's benchmark suites (kernels, batch-size, scaling, distributed, first-epoch, peers, tutorial, cnn, soak, heap), their reports and charts. */
export { main, parseArgs, runSuite, runOrder, USAGE, type BenchOptions } from './cli.js';
export { runKernels, kernelsConfig, naiveMatmul, TARGET_WASM_OVER_JS, TARGET_WASM_OVER_BLAS, type KernelsConfig, type WasmBuild } from './kernels.js';
export { timeBlas, blasEnv, type BlasResult, type BlasOptions } from './openblas.js';
export { runSoak, soakConfig, type SoakConfig } from './soak.js';
export { runTutorial, tutorialConfig, type TutorialConfig } from './tutorial.js';
export { runCnn, cnnConfig, cnnReport, CNN_TARGETS, type CnnConfig, type CnnMeasurements, type CnnTargets } from './cnn.js';
export { runHeap, heapConfig, type HeapConfig, type HeapBackend } from './heap.js';
export { forcedGc, type GcSource } from './gc.js';
export { runBatchSize, batchSizeConfig, type BatchSizeConfig } from './batch-size.js';
export { runScaling, scalingConfig, type ScalingConfig } from './scaling.js';
export { runDistributed, distributedConfig, mlpParameterCount, type DistributedConfig } from './distributed.js';
export {
  ringAllReduceSeconds, busBandwidth, linkBeta, leastSquares2, fitAlphaBeta, fitCompute, rowsPerHost, predictSteps, whereRingStopsPaying,
  type AlphaBeta, type ComputeModel, type StepPrediction, type PlanInput,
} from './distributed-model.js';
export { runPeers, peersConfig, type PeersConfig } from './peers.js';
export { timeLoomSteps, loadMlpData, buildMlp, type StepTiming, type MlpData } from './mlp.js';
export { timeTfjsSteps, loadTf, type TfBackend } from './tfjs.js';
export { timeTorchSteps, trainTorchEpochs, torchEnv, describeTorchBlas, type TorchOptions, type TorchOutcome, type TorchTrainRun } from './torch.js';
export {
  SUITE_NAMES, machineInfo, printResult, writeResult, readResults, renderBenchmarksMd, writeBenchmarksMd,
  type SuiteName, type SuiteResult, type SuiteSection, type MachineInfo, type Row,
} from './report.js';
export { fmt, textTable, markdownTable, type Table } from './format.js';
export { runInfo, cpuSimd, headlines, renderSummary, writeSummary, type RunInfo } from './summary.js';
