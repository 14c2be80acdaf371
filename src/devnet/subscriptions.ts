/**
 * The PubSub side of one provider port: `signatureSubscribe` (what web3.js `confirmTransaction`
 * waits on), `slotSubscribe` and `rootSubscribe`, over WebSocket connections accepted by the
 * provider's HTTP server. Notification shapes follow Solana's PubSub API.
 *
 * Bounded per connection: at most `maxSubscriptionsPerConnection` live subscriptions (past it a
 * subscribe is answered with a JSON-RPC error), and a client that stops reading is closed once
 * more than `maxBufferedBytes` wait unsent on its socket, which releases its buffers and
 * subscriptions. Both are counted in the stats.
 */
import type { WebSocket } from 'ws';
import type { Logger } from '../log/index.ts';
import type { BlockInfo, Commitment, LocalChain, TxRecord } from './chain.ts';
import { JsonRpcError, invalidParams, RPC_CODES, rpcError } from './errors.ts';
import { encodeBase58 } from '../encoding/base58.ts';
import { accountJson, accountView, type AccountView } from './methods.ts';
import { commitmentOf, configAt, paramList, pubkeyParam, required, signatureParam } from './params.ts';

interface SignatureSub {
  kind: 'signature';
  id: number;
  ws: WebSocket;
  signature: string;
  commitment: Commitment;
}

interface SlotSub {
  kind: 'slot' | 'root';
  id: number;
  ws: WebSocket;
}

// Also served: logsSubscribe and accountSubscribe, from the chain's own transactions, sent once
// they reach the subscription's commitment; and the port's ws-stall / ws-drop faults act here.

/** logsSubscribe: `mentions` one address, or every transaction when null ("all"). */
interface LogsSub {
  kind: 'logs';
  id: number;
  ws: WebSocket;
  mentions: string | null;
  commitment: Commitment;
  /** Matching transactions not yet at the subscription's commitment, oldest first. */
  pending: TxRecord[];
}

/** accountSubscribe: one notification per slot in which a transaction touched the account. */
interface AccountSub {
  kind: 'account';
  id: number;
  ws: WebSocket;
  address: string;
  addressBytes: Uint8Array;
  commitment: Commitment;
  view: AccountView;
  pending: TxRecord[];
}

type Sub = SignatureSub | SlotSub | LogsSub | AccountSub;

export interface PubsubFaults {
  /** Read and send nothing on any connection (no close frame). */
  stalled: boolean;
  /** Send no notifications; requests are still answered. */
  silent: boolean;
}

const NO_PUBSUB_FAULTS: PubsubFaults = Object.freeze({ stalled: false, silent: false });

export interface PubsubFaultStats {
  /** Messages not sent (and requests not served) because of a ws-stall or ws-drop fault. */
  suppressedByFaults: number;
}

export interface SubscriptionStats {
  connections: number;
  subscriptions: number;
  notificationsSent: number;
  /** Subscribe requests answered with an error because the connection held the most it may. */
  subscriptionsRefused: number;
  /** Connections closed because they stopped reading (more than maxBufferedBytes waiting). */
  slowConsumersClosed: number;
}

export interface SubscriptionLimits {
  /** Live subscriptions one connection may hold (default 1024). */
  maxSubscriptionsPerConnection?: number;
  /** Bytes that may wait unsent on one socket before the client is closed as too slow (default 4 MiB). */
  maxBufferedBytes?: number;
}

export const DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION = 1024;
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/** JSON-RPC "server error" range: the request was valid, the server will not take more of it. */
export const SUBSCRIPTION_LIMIT_CODE = -32000;

export class SubscriptionHub {
  private readonly chain: LocalChain;
  private readonly lag: () => number;
  private readonly logger: Logger;
  private readonly subs = new Map<number, Sub>();
  private readonly pendingSignatures = new Map<number, SignatureSub>();
  /** Live subscriptions per connection. */
  private readonly sockets = new Map<WebSocket, number>();
  private readonly maxPerConnection: number;
  private readonly maxBufferedBytes: number;
  private nextId = 0;
  private notificationsSent = 0;
  private subscriptionsRefused = 0;
  private slowConsumersClosed = 0;
  private readonly offSlot: () => void;
  private readonly offTx: () => void;
  private pubsubFaults: () => PubsubFaults = () => NO_PUBSUB_FAULTS;
  private paused = false;
  private suppressed = 0;

  constructor(chain: LocalChain, lag: () => number, logger: Logger, limits: SubscriptionLimits = {}) {
    this.chain = chain;
    this.lag = lag;
    this.logger = logger;
    this.maxPerConnection = limits.maxSubscriptionsPerConnection ?? DEFAULT_MAX_SUBSCRIPTIONS_PER_CONNECTION;
    this.maxBufferedBytes = limits.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.offSlot = chain.onSlot((b) => this.onSlot(b));
    this.offTx = chain.onTransaction((r) => this.onTransaction(r));
  }

  attach(ws: WebSocket): void {
    this.sockets.set(ws, 0);
    ws.on('message', (data) => this.onMessage(ws, data.toString()));
    ws.on('close', () => this.detach(ws));
    ws.on('error', (err) => this.logger.debug({ err }, 'devnet: websocket error'));
    // A stalled port reads nothing, new connections included.
    if (this.paused) ws.pause();
  }

  /** Drops every connection at once, as a crashed node does (clients see code 1006 and reconnect). */
  dropAll(): void {
    for (const ws of this.sockets.keys()) ws.terminate();
    this.sockets.clear();
    this.subs.clear();
    this.pendingSignatures.clear();
  }

  /**
   * Closes every connection with code 1000 so clients treat it as final and do not reconnect
   * (web3.js would retry a dropped socket every second, forever), waiting at most `graceMs`
   * for the handshake before dropping the rest.
   */
  async closeAll(graceMs: number): Promise<void> {
    const open = [...this.sockets.keys()];
    await Promise.all(
      open.map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve();
            const timer = setTimeout(() => {
              ws.terminate();
              resolve();
            }, graceMs);
            ws.once('close', () => {
              clearTimeout(timer);
              resolve();
            });
            ws.close(1000, 'local cluster closing');
          }),
      ),
    );
    this.dropAll();
  }

  /** Where the port's ws-stall / ws-drop state is read (the provider's fault state). */
  setPubsubFaults(read: () => PubsubFaults): void {
    this.pubsubFaults = read;
  }

  faultStats(): PubsubFaultStats {
    return { suppressedByFaults: this.suppressed };
  }

  dispose(): void {
    this.dropAll();
    this.offSlot();
    this.offTx();
  }

  getStats(): SubscriptionStats {
    return {
      connections: this.sockets.size,
      subscriptions: this.subs.size,
      notificationsSent: this.notificationsSent,
      subscriptionsRefused: this.subscriptionsRefused,
      slowConsumersClosed: this.slowConsumersClosed,
    };
  }

  private detach(ws: WebSocket): void {
    this.sockets.delete(ws);
    for (const [id, sub] of this.subs) {
      if (sub.ws === ws) {
        this.subs.delete(id);
        this.pendingSignatures.delete(id);
      }
    }
  }

  /** Counts a new subscription on `ws`, or refuses it past the per-connection limit. */
  private admit(ws: WebSocket): void {
    const held = this.sockets.get(ws) ?? 0;
    if (held >= this.maxPerConnection) {
      this.subscriptionsRefused++;
      throw rpcError(
        SUBSCRIPTION_LIMIT_CODE,
        `Subscription limit reached: at most ${this.maxPerConnection} per connection`,
        { limit: this.maxPerConnection },
      );
    }
    this.sockets.set(ws, held + 1);
  }

  private remove(sub: Sub): void {
    this.subs.delete(sub.id);
    this.pendingSignatures.delete(sub.id);
    const held = this.sockets.get(sub.ws);
    if (held !== undefined) this.sockets.set(sub.ws, Math.max(0, held - 1));
  }

  private onMessage(ws: WebSocket, text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.send(ws, { jsonrpc: '2.0', error: { code: RPC_CODES.parseError, message: 'Parse error' }, id: null });
      return;
    }
    const req = msg as { id?: unknown; method?: unknown; params?: unknown };
    // ws-stall: what was read before the socket paused goes unanswered, as on a wedged node.
    if (this.pubsubFaults().stalled) {
      this.suppressed++;
      return;
    }
    const id = req.id;
    // Notifications from the client (web3.js sends a 'ping' every few seconds) get no answer.
    if (id === undefined) return;
    if (typeof req.method !== 'string') {
      this.send(ws, {
        jsonrpc: '2.0',
        error: { code: RPC_CODES.invalidRequest, message: 'Invalid request' },
        id: null,
      });
      return;
    }
    try {
      const result = this.call(ws, req.method, paramList(req.params));
      this.send(ws, { jsonrpc: '2.0', result: result.value, id });
      result.after?.();
    } catch (err) {
      const e = err instanceof JsonRpcError ? err : rpcError(RPC_CODES.internalError, (err as Error).message);
      this.send(ws, { jsonrpc: '2.0', error: e.toJSON(), id });
    }
  }

  private call(ws: WebSocket, method: string, params: unknown[]): { value: unknown; after?: () => void } {
    switch (method) {
      case 'signatureSubscribe': {
        const signature = signatureParam(required(params, 0, 'signature'));
        const commitment = commitmentOf(configAt(params, 1));
        this.admit(ws);
        const sub: SignatureSub = { kind: 'signature', id: this.nextId++, ws, signature, commitment };
        this.subs.set(sub.id, sub);
        this.pendingSignatures.set(sub.id, sub);
        // Already there: notify right after the subscription id is answered.
        return { value: sub.id, after: () => this.checkSignature(sub) };
      }
      case 'slotSubscribe':
      case 'rootSubscribe': {
        this.admit(ws);
        const sub: SlotSub = { kind: method === 'slotSubscribe' ? 'slot' : 'root', id: this.nextId++, ws };
        this.subs.set(sub.id, sub);
        return { value: sub.id };
      }
      case 'logsSubscribe': {
        const filter = required<unknown>(params, 0, 'filter');
        let mentions: string | null;
        if (filter === 'all' || filter === 'allWithVotes') mentions = null;
        else {
          const list = (filter as { mentions?: unknown } | null)?.mentions;
          if (!Array.isArray(list) || list.length !== 1)
            throw invalidParams('Invalid params: filter must be "all", "allWithVotes" or { mentions: [one address] }');
          mentions = encodeBase58(pubkeyParam(list[0]));
        }
        this.admit(ws);
        const sub: LogsSub = {
          kind: 'logs',
          id: this.nextId++,
          ws,
          mentions,
          commitment: commitmentOf(configAt(params, 1)),
          pending: [],
        };
        if (mentions !== null) sub.pending = this.notYetAt(mentions, sub.commitment);
        this.subs.set(sub.id, sub);
        return { value: sub.id };
      }
      case 'accountSubscribe': {
        const addressBytes = pubkeyParam(required(params, 0, 'pubkey'));
        const config = configAt(params, 1);
        const view = accountView(config);
        this.admit(ws);
        const sub: AccountSub = {
          kind: 'account',
          id: this.nextId++,
          ws,
          address: encodeBase58(addressBytes),
          addressBytes,
          commitment: commitmentOf(config),
          view,
          pending: [],
        };
        sub.pending = this.notYetAt(sub.address, sub.commitment);
        this.subs.set(sub.id, sub);
        return { value: sub.id };
      }
      case 'logsUnsubscribe':
      case 'accountUnsubscribe':
      case 'signatureUnsubscribe':
      case 'slotUnsubscribe':
      case 'rootUnsubscribe': {
        const id = required<unknown>(params, 0, 'subscription id');
        const sub = typeof id === 'number' ? this.subs.get(id) : undefined;
        const kind = method.replace('Unsubscribe', '');
        if (!sub || sub.ws !== ws || sub.kind !== kind) throw invalidParams('Invalid subscription id.');
        this.remove(sub);
        return { value: true };
      }
      default:
        throw rpcError(RPC_CODES.methodNotFound, 'Method not found');
    }
  }

  private onSlot(block: BlockInfo): void {
    this.syncStall();
    const lag = this.lag();
    for (const sub of this.pendingSignatures.values()) this.checkSignature(sub);
    for (const sub of this.subs.values()) if (sub.kind === 'logs' || sub.kind === 'account') this.flush(sub);
    if (this.subs.size === this.pendingSignatures.size) return;
    const slot = block.slot - lag;
    const root = this.chain.slotFor('finalized', lag);
    for (const sub of this.subs.values()) {
      if (sub.kind === 'slot') this.notify(sub, 'slotNotification', { parent: slot - 1, root, slot });
      else if (sub.kind === 'root') this.notify(sub, 'rootNotification', root);
    }
  }

  private onTransaction(record: TxRecord): void {
    for (const sub of this.pendingSignatures.values()) if (sub.signature === record.signature) this.checkSignature(sub);
    for (const sub of this.subs.values()) {
      if (sub.kind === 'logs' && (sub.mentions === null || record.accountKeys.includes(sub.mentions)))
        sub.pending.push(record);
      else if (sub.kind === 'account' && record.accountKeys.includes(sub.address)) sub.pending.push(record);
      else continue;
      if (sub.commitment === 'processed') this.flush(sub);
    }
  }

  /**
   * Transactions on `address` already processed but not yet at `commitment`: a node notifies them
   * when their block reaches the commitment, also to subscriptions made in between.
   */
  private notYetAt(address: string, commitment: Commitment): TxRecord[] {
    if (commitment === 'processed') return [];
    const lag = this.lag();
    return this.chain
      .signaturesForAddress(address, this.chain.slot - lag)
      .filter((r) => r.slot > this.chain.slot - lag - 64 && !this.chain.reached(r.signature, commitment, lag))
      .reverse();
  }

  /** Sends what reached the subscription's commitment: logs per transaction, account state once per slot. */
  private flush(sub: LogsSub | AccountSub): void {
    if (sub.pending.length === 0) return;
    const lag = this.lag();
    let n = 0;
    while (n < sub.pending.length && this.chain.reached(sub.pending[n]!.signature, sub.commitment, lag)) n++;
    if (n === 0) return;
    const ready = sub.pending.splice(0, n);
    if (sub.kind === 'logs') {
      for (const rec of ready) {
        this.notify(sub, 'logsNotification', {
          context: { slot: rec.slot },
          value: { signature: rec.signature, err: rec.err, logs: rec.logs },
        });
      }
      return;
    }
    // The local chain keeps only the tip state: each slot's notification carries the state now.
    const slots = [...new Set(ready.map((r) => r.slot))];
    const account = this.chain.getAccount(sub.addressBytes);
    for (const slot of slots) {
      this.notify(sub, 'accountNotification', {
        context: { slot },
        value: account ? accountJson(account, sub.view) : null,
      });
    }
  }

  /** ws-stall: stop reading every connection (so pings go unanswered too) until the fault is cleared. */
  private syncStall(): void {
    const stalled = this.pubsubFaults().stalled;
    if (stalled === this.paused) return;
    this.paused = stalled;
    for (const ws of this.sockets.keys()) {
      if (stalled) ws.pause();
      else ws.resume();
    }
  }

  private checkSignature(sub: SignatureSub): void {
    if (!this.pendingSignatures.has(sub.id)) return;
    const rec = this.chain.reached(sub.signature, sub.commitment, this.lag());
    if (!rec) return;
    // Signature subscriptions end with their one notification.
    this.remove(sub);
    this.notify(sub, 'signatureNotification', {
      context: { slot: this.chain.slotFor(sub.commitment, this.lag()) },
      value: { err: rec.err },
    });
  }

  private notify(sub: Sub, method: string, result: unknown): void {
    const f = this.pubsubFaults();
    if (f.silent || f.stalled) {
      this.suppressed++;
      return;
    }
    this.notificationsSent++;
    this.send(sub.ws, { jsonrpc: '2.0', method, params: { result, subscription: sub.id } });
  }

  private send(ws: WebSocket, msg: unknown): void {
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > this.maxBufferedBytes) {
      // It stopped reading: buffering more for it would grow without bound. Close it; its
      // buffers and subscriptions go with it.
      this.slowConsumersClosed++;
      this.logger.warn(
        {
          bufferedBytes: ws.bufferedAmount,
          maxBufferedBytes: this.maxBufferedBytes,
          subscriptions: this.sockets.get(ws) ?? 0,
        },
        'devnet: websocket client too slow; closing it',
      );
      ws.terminate();
      this.detach(ws);
      return;
    }
    ws.send(JSON.stringify(msg));
  }
}
