/** Awaiting frames one at a time during rendezvous, where the conversation is a short script. */
import type { Connection, EndReason } from './connection.js';
import type { MessageType } from './frame.js';

export class ConnectionEnded extends Error {
  constructor(readonly reason: EndReason) {
    super(reason.kind === 'protocol' ? `broke the protocol: ${reason.detail}` : 'connection ended');
    this.name = 'ConnectionEnded';
  }
}

export class Inbox {
  private readonly queue: Array<[MessageType, Buffer]> = [];
  private waiter: { resolve: (f: [MessageType, Buffer]) => void; reject: (e: Error) => void } | null = null;
  private ended: ConnectionEnded | null = null;

  constructor(private readonly conn: Connection) {
    conn.attach({
      frame: (type, payload) => {
        const w = this.waiter;
        this.waiter = null;
        if (w !== null) w.resolve([type, payload]);
        else this.queue.push([type, payload]);
      },
      end: (reason) => {
        this.ended = new ConnectionEnded(reason);
        const w = this.waiter;
        this.waiter = null;
        w?.reject(this.ended);
      },
    });
  }

  next(): Promise<[MessageType, Buffer]> {
    const f = this.queue.shift();
    if (f !== undefined) return Promise.resolve(f);
    if (this.ended !== null) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Hands the connection on; frames not yet read go back to it. */
  detach(): void {
    this.waiter = null;
    this.conn.detach(this.queue.splice(0));
  }
}
