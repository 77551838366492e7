/**
 * The one error a process group rejects with. `rank` names the rank that died, stopped answering,
 * left early, broke the protocol or made rendezvous fail, when one rank is to blame.
 */
export class CollectiveError extends Error {
  readonly rank: number | undefined;

  constructor(message: string, rank?: number, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CollectiveError';
    this.rank = rank;
  }
}

/** Seconds for messages: 15000 -> "15", 500 -> "0.5". */
export function seconds(ms: number): string {
  return String(Number((ms / 1000).toFixed(3)));
}

/** The messages other ranks and users see; one place so every path words them the same way. */
export const fail = {
  lostConnection: (rank: number) =>
    new CollectiveError(`lost connection to rank ${rank} (it exited or the network failed)`, rank),
  silent: (rank: number, ms: number) =>
    new CollectiveError(`rank ${rank} stopped answering: no heartbeat for ${seconds(ms)} s`, rank),
  leftEarly: (rank: number, op: string) =>
    new CollectiveError(`rank ${rank} left the group (it called close()) while this rank was in ${op}`, rank),
  protocol: (rank: number, detail: string) => new CollectiveError(`rank ${rank} broke the protocol: ${detail}`, rank),
  mismatch: (rank: number, detail: string) =>
    new CollectiveError(
      `rank ${rank} ${detail} (every rank must call the same collectives, with the same lengths, in the same order)`,
      rank,
    ),
  closed: () => new CollectiveError('the process group is closed'),
};
