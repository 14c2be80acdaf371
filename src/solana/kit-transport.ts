/**
 * A @solana/kit `RpcTransport` that serves every request through the RPC pool:
 *
 *   const rpc = createSolanaRpcFromTransport(createKitTransport(pool));
 *   const slot = await rpc.getSlot().send();
 *
 * Kit's contract for a transport: take `{ payload, signal }` (a JSON-RPC 2.0 request object),
 * resolve with the JSON-RPC response object, and let kit's own response transformers turn an
 * `error` member into a `SolanaError`. So a JSON-RPC error the node answered (invalid params, a
 * preflight failure with its simulation logs) is handed back as a response, exactly as kit's HTTP
 * transport would hand it back, and the caller sees kit's typed error with the node's code. What
 * only the pool can say (every endpoint failed, the deadline passed) rejects with the pool's
 * typed RpcPoolError; a caller's abort rejects with the signal's reason, as fetch would.
 *
 * Integers: kit hands u64 parameters over as bigint and has already refused any above 2^53 − 1
 * (its integer-overflow request check), so they are sent as JSON numbers without loss. Answers
 * are read with `integers: 'lossless'`: an integer above 2^53 − 1 (a total supply in lamports, a
 * large stake, `rentEpoch` = u64::MAX) comes back as an exact bigint, as from kit's own HTTP
 * transport; kit upcasts the smaller numbers it expects to bigint as usual.
 */
import type { RpcResponse, RpcTransport } from '@solana/kit';
import { PalisadeError } from '../errors.ts';
import { timeoutMs as checkTimeout } from '../validate.ts';
import { RpcCallError, RpcPoolError } from '../rpc/errors.ts';
import { isSafeBigInt, mapBigInts } from '../rpc/lossless.ts';
import type { CallablePool } from '../rpc/web3-adapter.ts';

export interface KitTransportOptions {
  /** Deadline of one kit request across the pool's attempts (default: the pool's requestTimeoutMs). */
  timeoutMs?: number;
}

/** A payload kit (or a caller) passed that is not a JSON-RPC 2.0 request. */
export class KitTransportError extends PalisadeError {
  constructor(message: string) {
    super('KIT_TRANSPORT_BAD_PAYLOAD', message);
  }
}

export function createKitTransport(pool: CallablePool, options: KitTransportOptions = {}): RpcTransport {
  if (!pool || typeof (pool as { call?: unknown }).call !== 'function') {
    throw new KitTransportError('createKitTransport needs a pool with call(method, params)');
  }
  const timeoutMs =
    options.timeoutMs === undefined ? undefined : checkTimeout('kitTransport.timeoutMs', options.timeoutMs);
  return async function poolTransport<TResponse>({
    payload,
    signal,
  }: {
    payload: unknown;
    signal?: AbortSignal;
  }): Promise<RpcResponse<TResponse>> {
    const req = readRequest(payload);
    if (signal?.aborted) throw signal.reason;
    try {
      const r = await pool.call(req.method, req.params, {
        integers: 'lossless',
        ...(signal ? { signal } : {}),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
      return { jsonrpc: '2.0', id: req.id, result: r.result } as unknown as RpcResponse<TResponse>;
    } catch (err) {
      if (err instanceof RpcCallError) {
        // The node's own answer: kit raises the SolanaError it raises for a direct connection.
        const error = {
          code: err.rpcCode,
          message: err.message,
          ...(err.data !== undefined ? { data: err.data } : {}),
        };
        return { jsonrpc: '2.0', id: req.id, error } as unknown as RpcResponse<TResponse>;
      }
      if (signal?.aborted && err instanceof RpcPoolError && err.code === 'RPC_ABORTED') throw signal.reason;
      throw err;
    }
  } as RpcTransport;
}

interface KitRequest {
  id: unknown;
  method: string;
  params: unknown[];
}

function readRequest(payload: unknown): KitRequest {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new KitTransportError('the payload is not a JSON-RPC request object (batches are not supported)');
  }
  const p = payload as { jsonrpc?: unknown; id?: unknown; method?: unknown; params?: unknown };
  if (p.jsonrpc !== '2.0' || typeof p.method !== 'string' || p.method === '') {
    throw new KitTransportError('the payload is not a JSON-RPC 2.0 request with a method');
  }
  const params = p.params === undefined ? [] : Array.isArray(p.params) ? p.params : [p.params];
  return { id: p.id ?? null, method: p.method, params: params.map(downcastBigInts) };
}

/** bigint → number, deeply; kit's overflow check already refused values past 2^53 − 1. */
function downcastBigInts(value: unknown): unknown {
  return mapBigInts(value, (b) => {
    if (!isSafeBigInt(b)) throw new KitTransportError(`integer parameter ${b} is outside the safe JSON range`);
    return Number(b);
  });
}
