/** Small helpers shared by the devnet tests (not a test file itself). */
import { request as httpRequest } from 'node:http';
import { SystemProgram, Transaction, type Keypair, type PublicKey } from '@solana/web3.js';

export interface RpcReply {
  jsonrpc: string;
  id: unknown;
  result?: any;
  error?: { code: number; message: string; data?: any };
}

/** One JSON-RPC call over a plain fetch, with a deadline so no test can hang on it. */
export async function rpc(url: string, method: string, params?: unknown[], id: unknown = 1): Promise<RpcReply> {
  const body: Record<string, unknown> = { jsonrpc: '2.0', id, method };
  if (params !== undefined) body['params'] = params;
  const res = await post(url, body);
  return (await res.json()) as RpcReply;
}

export async function result(url: string, method: string, params?: unknown[]): Promise<any> {
  const r = await rpc(url, method, params);
  if (r.error) throw new Error(`${method} failed: ${r.error.code} ${r.error.message}`);
  return r.result;
}

export function post(url: string, body: unknown, signal: AbortSignal = AbortSignal.timeout(5000)): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
    signal,
  });
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A signed SOL transfer as base64 wire bytes. */
export function transferTx(
  from: Keypair,
  to: PublicKey,
  lamports: number,
  blockhash: string,
): { base64: string; signature: string; tx: Transaction } {
  const tx = new Transaction({ feePayer: from.publicKey, recentBlockhash: blockhash }).add(
    SystemProgram.transfer({ fromPubkey: from.publicKey, toPubkey: to, lamports }),
  );
  tx.sign(from);
  return { base64: tx.serialize().toString('base64'), signature: base58(tx.signature!), tx };
}

const ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** An independent (BigInt) base58 encoder, so the tests do not trust the cluster's own. */
export function base58(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = n * 256n + BigInt(b);
  let out = '';
  while (n > 0n) {
    out = ALPHABET[Number(n % 58n)] + out;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    out = `1${out}`;
  }
  return out;
}

/**
 * A POST on a fresh TCP connection (no pooled keep-alive socket), so a refused port shows up
 * as ECONNREFUSED rather than as an error on a socket the pool had not yet seen closed.
 */
export function freshPost(url: string, body: unknown, timeoutMs = 5000): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/json' }, timeout: timeoutMs },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('freshPost timed out')));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
