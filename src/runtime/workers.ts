/**
 * Where actor workers come from: a cold spawn of the actor host, or a warm spare that has
 * already booted (V8 isolate, Node bootstrap and the host script: the ~25-40 ms of a spawn).
 * Taking a spare makes crash recovery cost a module import (~1 ms) instead of a spawn. Spares
 * are kept per resource-limits group, since limits are fixed when a worker is created, and are
 * replenished in the background after each take.
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { Logger } from '../log/index.ts';
import { W_READY } from './protocol.ts';

interface Spare {
  worker: Worker;
  ready: boolean;
  onExit: () => void;
  onError: (e: Error) => void;
  onMessage: (m: unknown[]) => void;
}

export interface WorkerPoolStats {
  spares: number;
  warmTakes: number;
  coldSpawns: number;
}

export class WorkerPool {
  private readonly groups = new Map<string, Spare[]>();
  private readonly limitsByKey = new Map<string, ResourceLimits | undefined>();
  private closed = false;
  private warmTakes = 0;
  private coldSpawns = 0;

  constructor(
    private readonly hostUrl: URL,
    private readonly sparesPerGroup: number,
    private readonly logger: Logger,
    private readonly execArgv: string[] = [],
  ) {}

  /** A worker running the actor host: a warm spare when one is there, else a cold spawn. */
  acquire(resourceLimits?: ResourceLimits): { worker: Worker; warm: boolean } {
    const key = groupKey(resourceLimits);
    const list = this.groups.get(key);
    let spare: Spare | undefined;
    if (list && list.length > 0) {
      const idx = list.findIndex((s) => s.ready);
      spare = list.splice(idx >= 0 ? idx : 0, 1)[0];
    }
    if (!this.limitsByKey.has(key)) this.limitsByKey.set(key, resourceLimits);
    this.replenish(key);
    if (spare) {
      spare.worker.off('exit', spare.onExit);
      spare.worker.off('error', spare.onError);
      spare.worker.off('message', spare.onMessage);
      this.warmTakes++;
      return { worker: spare.worker, warm: true };
    }
    this.coldSpawns++;
    return { worker: this.spawn(resourceLimits), warm: false };
  }

  /** Starts the spares of a group ahead of the first need. */
  prewarm(resourceLimits?: ResourceLimits): void {
    const key = groupKey(resourceLimits);
    if (!this.limitsByKey.has(key)) this.limitsByKey.set(key, resourceLimits);
    this.replenish(key);
  }

  stats(): WorkerPoolStats {
    let spares = 0;
    for (const l of this.groups.values()) spares += l.length;
    return { spares, warmTakes: this.warmTakes, coldSpawns: this.coldSpawns };
  }

  /** Terminates every spare and stops replenishing. */
  async close(): Promise<void> {
    this.closed = true;
    const exits: Promise<unknown>[] = [];
    for (const list of this.groups.values()) {
      for (const s of list.splice(0)) {
        s.worker.off('exit', s.onExit);
        exits.push(new Promise((r) => s.worker.once('exit', r)));
        void s.worker.terminate();
      }
    }
    await Promise.all(exits);
  }

  private spawn(resourceLimits?: ResourceLimits): Worker {
    const w = new Worker(this.hostUrl, { execArgv: this.execArgv, ...(resourceLimits ? { resourceLimits } : {}) });
    // An idle worker must not keep the process alive; actors ref their worker while they have work.
    w.unref();
    return w;
  }

  private replenish(key: string): void {
    if (this.closed || this.sparesPerGroup <= 0) return;
    let list = this.groups.get(key);
    if (!list) {
      list = [];
      this.groups.set(key, list);
    }
    while (list.length < this.sparesPerGroup) {
      const worker = this.spawn(this.limitsByKey.get(key));
      const spare: Spare = {
        worker,
        ready: false,
        onExit: () => {
          const l = this.groups.get(key);
          const i = l ? l.indexOf(spare) : -1;
          if (l && i >= 0) l.splice(i, 1);
          this.logger.warn({ group: key }, 'palisade runtime: a spare worker exited while idle');
        },
        onError: (e) => this.logger.warn({ err: e, group: key }, 'palisade runtime: a spare worker failed'),
        onMessage: (m) => {
          if (m[0] === W_READY) spare.ready = true;
        },
      };
      worker.on('exit', spare.onExit);
      worker.on('error', spare.onError);
      worker.on('message', spare.onMessage);
      list.push(spare);
    }
  }
}

function groupKey(limits?: ResourceLimits): string {
  if (!limits) return '';
  return JSON.stringify([limits.maxOldGenerationSizeMb, limits.maxYoungGenerationSizeMb, limits.codeRangeSizeMb, limits.stackSizeMb]);
}
