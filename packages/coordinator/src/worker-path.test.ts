import { describe, expect, it } from 'vitest';
import { workerExecArgv, workerFilename } from './worker-path.js';

describe('worker flags and file', () => {
  it('passes on only flags a worker accepts, never export conditions or process-wide flags', () => {
    const saved = process.execArgv;
    process.execArgv = ['--expose-gc', '--conditions', '@loom/source', '--conditions=x', '--enable-source-maps', '--max-old-space-size=100'];
    try {
      expect(workerExecArgv()).toEqual(['--enable-source-maps']);
    } finally {
      process.execArgv = saved;
    }
  });

  it('points at the built worker', () => {
    expect(workerFilename()).toMatch(/dist\/worker\.js$/);
  });
});
