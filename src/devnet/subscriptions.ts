/**
 * The PubSub side of one provider port: `signatureSubscribe` (what web3.js `confirmTransaction`
 * waits on), `slotSubscribe` and `rootSubscribe`, over WebSocket connections accepted by the
 * provider's HTTP server. Notification shapes follow Solana's PubSub API.
 */
import type { WebSocket } from 'ws';
import type { Logger } from '../log/index.ts';
import type { BlockInfo, Commitment, LocalChain, TxRecord } from './chain.ts';
import { JsonRpcError, invalidParams, RPC_CODES, rpcError } from './errors.ts';
import { commitmentOf, configAt, paramList, required, signatureParam } from './params.ts';

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

type Sub = SignatureSub | SlotSub;

export interface SubscriptionStats {
  connections: number;
  subscriptions: number;
  notificationsSent: number;
}

export class SubscriptionHub {
  private readonly chain: LocalChain;
  private readonly lag: () => number;
  private readonly logger: Logger;
  private readonly subs = new Map<number, Sub>();
  private readonly pendingSignatures = new Map<number, SignatureSub>();
  private readonly sockets = new Set<WebSocket>();
  private nextId = 0;
  private notificationsSent = 0;
  private readonly offSlot: () => void;
  private readonly offTx: () => void;

  constructor(chain: LocalChain, lag: () => number, logger: Logger) {
    this.chain = chain;
    this.lag = lag;
    this.logger = logger;
    this.offSlot = chain.onSlot((b) => this.onSlot(b));
    this.offTx = chain.onTransaction((r) => this.onTransaction(r));
  }

  attach(ws: WebSocket): void {
    this.sockets.add(ws);
    ws.on('message', (data) => this.onMessage(ws, data.toString()));
    ws.on('close', () => this.detach(ws));
    ws.on('error', (err) => this.logger.debug({ err }, 'devnet: websocket error'));
  }

  /** Drops every connection at once, as a crashed node does (clients see code 1006 and reconnect). */
  dropAll(): void {
    for (const ws of this.sockets) ws.terminate();
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
    const open = [...this.sockets];
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

  dispose(): void {
    this.dropAll();
    this.offSlot();
    this.offTx();
  }

  getStats(): SubscriptionStats {
    return { connections: this.sockets.size, subscriptions: this.subs.size, notificationsSent: this.notificationsSent };
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

  private onMessage(ws: WebSocket, text: string): void {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      this.send(ws, { jsonrpc: '2.0', error: { code: RPC_CODES.parseError, message: 'Parse error' }, id: null });
      return;
    }
    const req = msg as { id?: unknown; method?: unknown; params?: unknown };
    const id = req.id;
    // Notifications from the client (web3.js sends a 'ping' every few seconds) get no answer.
    if (id === undefined) return;
    if (typeof req.method !== 'string') {
      this.send(ws, { jsonrpc: '2.0', error: { code: RPC_CODES.invalidRequest, message: 'Invalid request' }, id: null });
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
        const sub: SignatureSub = { kind: 'signature', id: this.nextId++, ws, signature, commitment };
        this.subs.set(sub.id, sub);
        this.pendingSignatures.set(sub.id, sub);
        // Already there: notify right after the subscription id is answered.
        return { value: sub.id, after: () => this.checkSignature(sub) };
      }
      case 'slotSubscribe':
      case 'rootSubscribe': {
        const sub: SlotSub = { kind: method === 'slotSubscribe' ? 'slot' : 'root', id: this.nextId++, ws };
        this.subs.set(sub.id, sub);
        return { value: sub.id };
      }
      case 'signatureUnsubscribe':
      case 'slotUnsubscribe':
      case 'rootUnsubscribe': {
        const id = required<unknown>(params, 0, 'subscription id');
        const sub = typeof id === 'number' ? this.subs.get(id) : undefined;
        const kind = method.replace('Unsubscribe', '');
        if (!sub || sub.ws !== ws || sub.kind !== kind) throw invalidParams('Invalid subscription id.');
        this.subs.delete(sub.id);
        this.pendingSignatures.delete(sub.id);
        return { value: true };
      }
      default:
        throw rpcError(RPC_CODES.methodNotFound, 'Method not found');
    }
  }

  private onSlot(block: BlockInfo): void {
    const lag = this.lag();
    for (const sub of this.pendingSignatures.values()) this.checkSignature(sub);
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
  }

  private checkSignature(sub: SignatureSub): void {
    if (!this.pendingSignatures.has(sub.id)) return;
    const rec = this.chain.reached(sub.signature, sub.commitment, this.lag());
    if (!rec) return;
    // Signature subscriptions end with their one notification.
    this.pendingSignatures.delete(sub.id);
    this.subs.delete(sub.id);
    this.notify(sub, 'signatureNotification', { context: { slot: this.chain.slotFor(sub.commitment, this.lag()) }, value: { err: rec.err } });
  }

  private notify(sub: Sub, method: string, result: unknown): void {
    this.notificationsSent++;
    this.send(sub.ws, { jsonrpc: '2.0', method, params: { result, subscription: sub.id } });
  }

  private send(ws: WebSocket, msg: unknown): void {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(msg));
  }
}
