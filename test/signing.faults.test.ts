/**
 * The signer under faults: a full queue, a hung task, a caller's abort, a worker killed with a
 * task on it, and close(). Deadlines run on a ManualClock; the hang and the crash come from a
 * fixture worker chosen by the message's first byte, so no test depends on timing.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Keypair } from '@solana/web3.js';
import { ManualClock } from '../src/clock.ts';
import { createLogger } from '../src/log/index.ts';
import { OffThreadSigner, SigningKey, type SignerError } from '../src/signing/index.ts';
import { waitFor } from './support/wait.ts';

const FAULTY = new URL('./fixtures/signing/faulty-signer.ts', import.meta.url);
const HANG = 0xee;
const EXIT = 0xef;
const key = SigningKey.fromSecretKey(Keypair.generate().secretKey);
const ok = (n = 1): Uint8Array => new Uint8Array(48).fill(n);
const msg = (first: number): Uint8Array => Uint8Array.from([first, 1, 2, 3]);

function codeOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'resolved',
    (err: SignerError) => err.code,
  );
}

function capture(): { logger: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      out.push(String(chunk));
      cb();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  return {
    logger,
    lines: () =>
      out
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('signing: faults', { timeout: 60_000 }, () => {
  it('more pending signatures than threads + queue is SIGNER_QUEUE_FULL, counted and logged; the accepted ones complete', async () => {
    const { logger, lines } = capture();
    const signer = new OffThreadSigner({ minThreads: 1, maxThreads: 1, maxQueue: 2, logger });
    try {
      await signer.ready();
      const accepted = [signer.sign(ok(1), key), signer.sign(ok(2), key), signer.sign(ok(3), key)];
      const refused = [signer.sign(ok(4), key), signer.sign(ok(5), key)];
      assert.deepEqual(await Promise.all(refused.map(codeOf)), ['SIGNER_QUEUE_FULL', 'SIGNER_QUEUE_FULL']);
      const sigs = await Promise.all(accepted);
      assert.equal(sigs.length, 3);
      for (const s of sigs) assert.equal(s.length, 64);
      const s = signer.stats();
      assert.equal(s.failed.queueFull, 2);
      assert.equal(s.signed, 3);
      assert.equal(s.pending, 0);
      // Slots free again once the accepted ones are done.
      assert.equal((await signer.sign(ok(6), key)).length, 64);
      assert.ok(
        lines().some((l) => String(l['msg']).includes('queue full') && l['refused'] === 1),
        'queue-full logged',
      );
    } finally {
      await signer.close();
    }
  });

  it('a hung task times out with SIGNER_TIMEOUT on the injected clock; its worker is replaced and the next signature works', async () => {
    const clock = new ManualClock();
    const signer = new OffThreadSigner({
      workerModule: FAULTY,
      clock,
      taskTimeoutMs: 500,
      minThreads: 1,
      maxThreads: 1,
    });
    try {
      await signer.ready();
      const hung = signer.sign(msg(HANG), key);
      const waiting = signer.sign(ok(), key); // queued behind the hung one on the only worker
      clock.advance(499);
      assert.equal(signer.stats().pending, 2);
      clock.advance(1);
      assert.equal(await codeOf(hung), 'SIGNER_TIMEOUT');
      assert.equal(
        await codeOf(waiting),
        'SIGNER_TIMEOUT',
        'the queued task shares the deadline: both were asked for at the same instant',
      );
      // The hung worker was terminated and a fresh one serves the next task.
      const sig = await signer.sign(ok(), key);
      assert.equal(sig.length, 64);
      const s = signer.stats();
      assert.equal(s.failed.timeout, 2);
      assert.ok(s.workersExited >= 1, 'the hung worker was removed');
    } finally {
      await signer.close();
    }
  });

  it("the caller's AbortSignal rejects with SIGNER_ABORTED at once, before and while the task runs; the deadline still frees the worker", async () => {
    const clock = new ManualClock();
    const signer = new OffThreadSigner({
      workerModule: FAULTY,
      clock,
      taskTimeoutMs: 1000,
      minThreads: 1,
      maxThreads: 1,
    });
    try {
      await signer.ready();
      assert.equal(
        await codeOf(signer.sign(ok(), key, { signal: AbortSignal.abort(new Error('no longer wanted')) })),
        'SIGNER_ABORTED',
      );
      const ctl = new AbortController();
      const hung = signer.sign(msg(HANG), key, { signal: ctl.signal });
      const queued = signer.sign(ok(), key);
      ctl.abort(new Error('trade cancelled'));
      await assert.rejects(
        hung,
        (err: SignerError) => err.code === 'SIGNER_ABORTED' && err.message.includes('trade cancelled'),
      );
      assert.equal(
        signer.stats().pending,
        1,
        'the queued one still waits: the worker is still busy with the abandoned task',
      );
      // The abandoned task's deadline terminates the hung worker; the queued one then runs on a fresh worker.
      clock.advance(1000);
      const s1 = signer.stats();
      assert.equal(s1.failed.timeout, 1, 'the queued signature shared the deadline instant and timed out too');
      assert.equal(await codeOf(queued), 'SIGNER_TIMEOUT');
      assert.equal((await signer.sign(ok(), key)).length, 64);
      const s = signer.stats();
      assert.equal(s.failed.aborted, 2);
      assert.ok(s.workersExited >= 1, 'the hung worker was terminated');
    } finally {
      await signer.close();
    }
  });

  it('signatures come back in the order they were asked for (FIFO), with one worker and a backlog', async () => {
    const signer = new OffThreadSigner({ minThreads: 1, maxThreads: 1, maxQueue: 64 });
    try {
      await signer.ready();
      const order: number[] = [];
      await Promise.all(
        Array.from({ length: 40 }, (_, i) => signer.sign(ok(i + 1), key).then(() => void order.push(i))),
      );
      assert.deepEqual(
        order,
        Array.from({ length: 40 }, (_, i) => i),
      );
    } finally {
      await signer.close();
    }
  });

  it('a worker killed from outside with a task on it rejects that task with SIGNER_WORKER_DIED; the next task still works', async () => {
    const { logger, lines } = capture();
    const signer = new OffThreadSigner({ workerModule: FAULTY, minThreads: 1, maxThreads: 1, logger });
    try {
      await signer.ready();
      const hung = signer.sign(msg(HANG), key);
      const [worker] = signer.threads();
      assert.ok(worker, 'a worker runs');
      await worker.terminate();
      assert.equal(await codeOf(hung), 'SIGNER_WORKER_DIED');
      assert.equal((await signer.sign(ok(), key)).length, 64);
      assert.equal(signer.stats().failed.workerDied, 1);
      assert.ok(
        lines().some((l) => String(l['msg']).includes('worker died')),
        'the death is logged',
      );
    } finally {
      await signer.close();
    }
  });

  it('a worker that exits on its own rejects its task with SIGNER_WORKER_DIED; piscina replaces it', async () => {
    const signer = new OffThreadSigner({ workerModule: FAULTY, minThreads: 1, maxThreads: 1 });
    try {
      await signer.ready();
      assert.equal(await codeOf(signer.sign(msg(EXIT), key)), 'SIGNER_WORKER_DIED');
      assert.equal((await signer.sign(ok(), key)).length, 64);
      const s = signer.stats();
      assert.equal(s.failed.workerDied, 1);
      assert.equal(s.signed, 1);
      assert.ok(s.workersStarted >= 2, 'a replacement worker started');
    } finally {
      await signer.close();
    }
  });

  it('close() settles everything: a hung task is rejected SIGNER_CLOSED at the drain deadline, no worker is left, later signs are refused', async () => {
    const clock = new ManualClock();
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Worker' || r === 'MessagePort').length;
    const signer = new OffThreadSigner({
      workerModule: FAULTY,
      clock,
      minThreads: 2,
      maxThreads: 2,
      taskTimeoutMs: 60_000,
    });
    await signer.ready();
    const done = await signer.sign(ok(), key);
    assert.equal(done.length, 64);
    const hung = codeOf(signer.sign(msg(HANG), key));
    const closing = signer.close({ drainMs: 100 });
    assert.equal(await codeOf(signer.sign(ok(), key)), 'SIGNER_CLOSED');
    // The hung task's own deadline (60 s) is far away: only the drain deadline can end it.
    clock.advance(99);
    assert.equal(signer.stats().pending, 1);
    clock.advance(1);
    await closing;
    assert.equal(await hung, 'SIGNER_CLOSED');
    const s = signer.stats();
    assert.equal(s.pending, 0);
    assert.equal(s.threads, 0);
    assert.equal(s.failed.closed, 2);
    assert.equal(clock.pendingTimers, 0, 'no deadline timer left behind');
    // A terminated worker's port handle is released by Node a turn or two after piscina's destroy()
    // resolves (seen once in a clean CI run): wait for it, bounded, rather than read it at once.
    const handles = (): number =>
      process.getActiveResourcesInfo().filter((r) => r === 'Worker' || r === 'MessagePort').length;
    await waitFor(() => handles() === before, 5000, 'the signer workers and ports released').catch((err: Error) => {
      err.message += ` (handles before ${before}, after close ${handles()})`;
      throw err;
    });
    assert.equal(handles(), before);
    assert.equal(await signer.close().then(() => 'again'), 'again', 'close is idempotent');
  });

  it('a worker module that cannot be loaded is SIGNER_START_FAILED for sign() and ready()', async () => {
    const signer = new OffThreadSigner({
      workerModule: new URL('./fixtures/signing/no-such-signer.ts', import.meta.url),
    });
    try {
      assert.equal(await codeOf(signer.sign(ok(), key)), 'SIGNER_START_FAILED');
      await assert.rejects(signer.ready(), { code: 'SIGNER_START_FAILED' });
      assert.equal(signer.stats().failed.startFailed, 1);
    } finally {
      await signer.close();
    }
  });

  it('bad options are ConfigErrors', () => {
    assert.throws(() => new OffThreadSigner({ minThreads: 3, maxThreads: 2 }), { code: 'CONFIG_INVALID' });
    assert.throws(() => new OffThreadSigner({ maxQueue: -1 }), { code: 'CONFIG_INVALID' });
    assert.throws(() => new OffThreadSigner({ taskTimeoutMs: 0 }), { code: 'CONFIG_INVALID' });
    assert.throws(() => new OffThreadSigner({ atomics: 'async' as 'sync' }), { code: 'CONFIG_INVALID' });
  });
});
