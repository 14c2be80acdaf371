/**
 * Where actor workers come from: a cold spawn of the actor host, or a warm spare that has
 * already booted (V8 isolate, Node bootstrap and the host script: the ~25-40 ms of a spawn).
 *
 * Two kinds of spares, each kept per resource-limits group (limits are fixed when a worker is
 * created) and replenished in the background after each take:
 * - generic: the host script only; used for first starts.
 * - per module: the actor module already imported (its top level has run, nothing else), so a
 *   restart costs only init() and the first message. Prepared once an actor of that module has
 *   started; shared by all actors of the module. A module's top-level code therefore runs when
 *   its spare is prepared: side effects (connections, timers) belong in init().
 */
import { Worker, type ResourceLimits } from 'node:worker_threads';
import type { Logger } from '../log/index.ts';
import { H_PRELOAD, W_PRELOADED, W_PRELOAD_FAILED, W_READY } from './protocol.ts';

const REPLENISH_DELAY_MS = 25;

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
  private readonly failedModules = new Set<string>();
  private readonly pendingReplenish = new Set<string>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private warmTakes = 0;
  private coldSpawns = 0;

  constructor(
    private readonly hostUrl: URL,
    private readonly sparesPerGroup: number,
    private readonly logger: Logger,
    private readonly execArgv: string[] = [],
  ) {}

  /**
   * A worker running the actor host: a spare with `moduleUrl` preloaded if there is one, else a
   * generic spare, else a cold spawn. Null once closed.
   */
  acquire(resourceLimits?: ResourceLimits, moduleUrl?: string): { worker: Worker; warm: boolean } | null {
    if (this.closed) return null;
    const key = groupKey(resourceLimits);
    if (!this.limitsByKey.has(key)) this.limitsByKey.set(key, resourceLimits);
    let spare: Spare | undefined;
    if (moduleUrl !== undefined) {
      const mkey = moduleKey(key, moduleUrl);
      spare = this.take(mkey);
      if (spare) this.replenishSoon(mkey, key, moduleUrl);
    }
    if (!spare) {
      spare = this.take(key);
      this.replenishSoon(key, key);
    }
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

  /** Starts the generic spares of a group ahead of the first need. */
  prewarm(resourceLimits?: ResourceLimits): void {
    const key = groupKey(resourceLimits);
    if (!this.limitsByKey.has(key)) this.limitsByKey.set(key, resourceLimits);
    this.replenish(key, key);
  }

  /** Keeps spares with this module preloaded (called once an actor of the module has started). */
  prewarmModule(resourceLimits: ResourceLimits | undefined, moduleUrl: string): void {
    const key = groupKey(resourceLimits);
    if (!this.limitsByKey.has(key)) this.limitsByKey.set(key, resourceLimits);
    const mkey = moduleKey(key, moduleUrl);
    if (!this.groups.has(mkey)) this.replenish(mkey, key, moduleUrl);
  }

  /**
   * Replaces a taken spare a little later: booting a worker takes ~25 ms of CPU on a new thread,
   * which would compete with the actor recovering on the spare just taken.
   */
  private replenishSoon(key: string, limitsKey: string, moduleUrl?: string): void {
    if (this.closed || this.sparesPerGroup <= 0 || this.pendingReplenish.has(key)) return;
    this.pendingReplenish.add(key);
    const t = setTimeout(() => {
      this.pendingReplenish.delete(key);
      this.timers.delete(t);
      this.replenish(key, limitsKey, moduleUrl);
    }, REPLENISH_DELAY_MS);
    t.unref();
    this.timers.add(t);
  }

  private take(groupKey: string): Spare | undefined {
    const list = this.groups.get(groupKey);
    if (!list || list.length === 0) return undefined;
    const idx = list.findIndex((s) => s.ready);
    return list.splice(Math.max(idx, 0), 1)[0];
  }

  stats(): WorkerPoolStats {
    let spares = 0;
    for (const l of this.groups.values()) spares += l.length;
    return { spares, warmTakes: this.warmTakes, coldSpawns: this.coldSpawns };
  }

  /** Terminates every spare and stops replenishing. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
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

  /** Unref'd: an idle worker must not keep the process alive; actors ref theirs while they have work. */
  private spawn(resourceLimits?: ResourceLimits): Worker {
    const w = new Worker(this.hostUrl, { execArgv: this.execArgv, ...(resourceLimits ? { resourceLimits } : {}) });
    w.unref();
    return w;
  }

  private replenish(key: string, limitsKey: string, moduleUrl?: string): void {
    if (this.closed || this.sparesPerGroup <= 0 || this.failedModules.has(key)) return;
    let list = this.groups.get(key);
    if (!list) {
      list = [];
      this.groups.set(key, list);
    }
    while (list.length < this.sparesPerGroup) {
      const worker = this.spawn(this.limitsByKey.get(limitsKey));
      const spare: Spare = {
        worker,
        ready: false,
        onExit: () => {
          const l = this.groups.get(key);
          const i = l ? l.indexOf(spare) : -1;
          if (l && i >= 0) l.splice(i, 1);
          if (!this.closed) this.logger.warn({ group: key }, 'palisade runtime: a spare worker exited while idle');
        },
        onError: (e) => this.logger.warn({ err: e, group: key }, 'palisade runtime: a spare worker failed'),
        onMessage: (m) => {
          if (m[0] === W_READY && moduleUrl === undefined) spare.ready = true;
          else if (m[0] === W_PRELOADED) spare.ready = true;
          else if (m[0] === W_PRELOAD_FAILED) {
            // The module cannot be preloaded (its actors will fail to restart too): stop preparing spares for it.
            this.failedModules.add(key);
            const l = this.groups.get(key);
            const i = l ? l.indexOf(spare) : -1;
            if (l && i >= 0) l.splice(i, 1);
            worker.off('exit', spare.onExit);
            void worker.terminate();
            this.logger.warn(
              { module: moduleUrl, err: m[1] },
              'palisade runtime: could not preload an actor module in a spare',
            );
          }
        },
      };
      worker.on('exit', spare.onExit);
      worker.on('error', spare.onError);
      worker.on('message', spare.onMessage);
      if (moduleUrl !== undefined) worker.postMessage([H_PRELOAD, moduleUrl]);
      // Adding a 'message' listener and posting both re-ref the worker's port (Node 20): unref last.
      worker.unref();
      list.push(spare);
    }
  }
}

function moduleKey(limitsKey: string, moduleUrl: string): string {
  return `${limitsKey}\u0000${moduleUrl}`;
}

function groupKey(limits?: ResourceLimits): string {
  if (!limits) return '';
  return JSON.stringify([
    limits.maxOldGenerationSizeMb,
    limits.maxYoungGenerationSizeMb,
    limits.codeRangeSizeMb,
    limits.stackSizeMb,
  ]);
}
