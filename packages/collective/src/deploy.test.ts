/**
 * The deployment examples in deploy/: the Kubernetes manifest validates against the Kubernetes
 * API's OpenAPI schemas (kubernetes-models, offline: there is no cluster here for `kubectl apply
 * --dry-run`, which needs an API server) and keeps the environment contract; the Slurm script,
 * run with stand-ins for scontrol, srun and loom, gives each task the right variables.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { Job } from 'kubernetes-models/batch/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { Service } from 'kubernetes-models/v1';
import { packageDir } from '../test/helpers.js';
import { groupOptionsFromEnv } from './index.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function parser(text: string): Doc[] {
  return parseAllDocuments(text).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS() as Doc;
  });
}

/** Each kind the manifest holds, with the schema of its API version. */
const MODELS: Record<string, new (data: Doc) => { validate(): void }> = { Job, NetworkPolicy, Service } as never;

describe('deploy/kubernetes.yaml', () => {
  it('every document is valid against the Kubernetes API schema, and a broken one is not', () => {
    const docs = parser(readFileSync(join(packageDir, 'deploy', 'kubernetes.yaml'), 'utf8'));
    for (const d of docs) expect(() => new MODELS[d.kind]!(d).validate(), d.kind).not.toThrow();
    const job = structuredClone(docs.find((d) => d.kind === 'Job')!);
    job.spec.completions = 'four';
    expect(() => new Job(job).validate()).toThrow(/completions must be integer/);
  });

  it('an Indexed Job behind a headless Service, with the torchrun variables and the token from a Secret', () => {
    const docs = parser(readFileSync(join(packageDir, 'deploy', 'kubernetes.yaml'), 'utf8'));
    const byKind = Object.fromEntries(docs.map((d) => [d.kind, d]));
    expect(Object.keys(byKind).sort()).toEqual(['Job', 'NetworkPolicy', 'Service']);
    const svc = byKind.Service!;
    const job = byKind.Job!;
    expect(svc.spec.clusterIP).toBe('None');
    expect(svc.spec.selector).toEqual({ 'job-name': job.metadata.name });
    expect(job.spec.completionMode).toBe('Indexed');
    expect(job.spec.parallelism).toBe(job.spec.completions);
    const pod = job.spec.template.spec;
    expect(pod.subdomain).toBe(svc.metadata.name);
    const c = pod.containers[0];
    const env = Object.fromEntries(c.env.map((e: Doc) => [e.name, e.value ?? e.valueFrom]));
    expect(Number(env.WORLD_SIZE)).toBe(job.spec.completions);
    expect(env.MASTER_ADDR).toBe(`${job.metadata.name}-0.${svc.metadata.name}`);
    expect(env.LOOM_DIST_TOKEN).toEqual({ secretKeyRef: { name: 'loom-dist-token', key: 'token' } });
    expect(c.command.join(' ')).toContain('RANK="$JOB_COMPLETION_INDEX"');
    expect(c.command.join(' ')).toContain(`loom train --workers ${c.resources.limits.cpu}`);
    // What rank 3 would read, once the shell has set RANK.
    const plain = Object.fromEntries(c.env.filter((e: Doc) => 'value' in e).map((e: Doc) => [e.name, e.value]));
    const o = groupOptionsFromEnv({ ...plain, RANK: '3', LOOM_DIST_TOKEN: 'from-the-secret' })!;
    expect([o.rank, o.worldSize, o.masterAddr, o.masterPort, o.token, o.timeoutMs]).toEqual([3, 4, 'loom-train-0.loom-train', 29500, 'from-the-secret', 600_000]);
  });
});

describe('deploy/slurm.sbatch', () => {
  it('gives every task RANK from SLURM_PROCID, WORLD_SIZE from SLURM_NTASKS and MASTER_ADDR from the first host', () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-slurm-'));
    try {
      const stub = (name: string, body: string) => {
        writeFileSync(join(dir, name), `#!/bin/bash\n${body}\n`);
        chmodSync(join(dir, name), 0o755);
      };
      // A long host list: a script that cut it with `| head -n 1` under pipefail would fail (SIGPIPE).
      stub('scontrol', 'printf "node-a\\nnode-b\\nnode-c\\n"; seq 1 200000 | sed "s/^/node-/"');
      // srun: run the command once per task, as Slurm would on each node.
      stub('srun', 'shift; for i in $(seq 0 $((SLURM_NTASKS - 1))); do SLURM_PROCID=$i SLURM_LOCALID=0 "$@"; done');
      stub('loom', 'echo "RANK=$RANK WORLD_SIZE=$WORLD_SIZE MASTER_ADDR=$MASTER_ADDR MASTER_PORT=$MASTER_PORT LOCAL_RANK=$LOCAL_RANK TOKEN_LEN=${#LOOM_DIST_TOKEN} ARGS=$*"');
      const out = execFileSync('bash', [join(packageDir, 'deploy', 'slurm.sbatch')], {
        encoding: 'utf8',
        env: { PATH: `${dir}:${process.env.PATH}`, HOME: dir, SLURM_JOB_NODELIST: 'node-[a-c]', SLURM_NTASKS: '3', SLURM_NTASKS_PER_NODE: '1', SLURM_CPUS_PER_TASK: '16', SLURM_JOB_ID: '77' },
      });
      const lines = out.trim().split('\n');
      expect(lines).toHaveLength(3);
      lines.forEach((line, i) => {
        expect(line).toContain(`RANK=${i} WORLD_SIZE=3 MASTER_ADDR=node-a MASTER_PORT=29500 LOCAL_RANK=0 TOKEN_LEN=64`);
        expect(line).toContain(`ARGS=train --workers 16`);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
