/**
 * Real SOL transfers for the executor, through a web3.js Connection whose requests all go
 * through the RPC pool (failover, breakers, rate-limit rests apply). Local mode funds a fresh
 * wallet by airdrop; real mode uses the keypair file named by PALISADE_DEMO_KEYPAIR and sends
 * tiny self-transfers so only fees are spent.
 *
 * Signing happens off the host thread (OffThreadSigner): the host only compiles the message
 * and assembles the wire bytes. web3.js's `tx.sign()` + `tx.serialize()` would spend the host
 * a pure-JS ed25519 signature plus a verification of it, both on the thread that runs the bus.
 */
import { readFileSync } from 'node:fs';
import {
  Keypair,
  LAMPORTS_PER_SOL,
  type PublicKey,
  SystemProgram,
  Transaction,
  type BlockhashWithExpiryBlockHeight,
  type Connection,
} from '@solana/web3.js';
import {
  SigningKey,
  signMessageToWire,
  type OffThreadSigner,
  type OffThreadSignerStats,
} from '../../src/signing/index.ts';
import type { Clock } from '../../src/clock.ts';
import { PalisadeError } from '../../src/errors.ts';
import type { TransferSender } from './executor.ts';
import { MEME_TOKENS } from '../../actors/demo/signals.ts';
import type { BlockhashCache } from '../../src/solana/blockhash-cache.ts';
import type { LandResult, TransactionLander } from '../../src/solana/land.ts';
import { inSpan } from '../../src/observe/trace.ts';

export class DemoWalletError extends PalisadeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('DEMO_WALLET', message, options);
  }
}

/** Reads a Solana CLI keypair file (a JSON array of 64 secret-key bytes). */
export function loadKeypairFile(path: string): Keypair {
  let bytes: unknown;
  try {
    bytes = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new DemoWalletError(`PALISADE_DEMO_KEYPAIR: cannot read ${path} as JSON`, { cause: err });
  }
  if (!Array.isArray(bytes) || bytes.length !== 64 || !bytes.every((b) => Number.isInteger(b) && b >= 0 && b < 256)) {
    throw new DemoWalletError(`PALISADE_DEMO_KEYPAIR: ${path} is not a Solana keypair file (a JSON array of 64 bytes)`);
  }
  return Keypair.fromSecretKey(Uint8Array.from(bytes as number[]));
}

export interface SolTransferOptions {
  /** Reuse a blockhash this long before fetching a new one (default 2000 ms). */
  blockhashTtlMs?: number;
  /** Send to the payer itself (real mode: only fees are spent). */
  selfTransfer?: boolean;
  /**
   * Land through the landing path: blockhash from the cache, the signed bytes broadcast to every
   * healthy provider and re-broadcast until landed or provably expired (never re-signed).
   */
  landing?: { lander: TransactionLander; blockhashes: BlockhashCache };
}

/** A transfer the landing path did not land; `code` is its outcome (LAND_EXPIRED, LAND_FAILED_ON_CHAIN, ...). */
export class LandOutcomeError extends PalisadeError {
  readonly result: LandResult;
  constructor(result: LandResult) {
    super(
      result.status === 'expired' ? 'LAND_EXPIRED' : (result.error?.code ?? `LAND_${result.status.toUpperCase()}`),
      `transaction ${result.signature} ${result.status}${result.error ? `: ${result.error.message}` : ''}`,
    );
    this.result = result;
  }
}

export class SolTransferSender implements TransferSender {
  readonly payer: Keypair;
  private readonly payerKey: SigningKey;
  private readonly recipients = new Map<string, PublicKey>();
  private blockhash: { value: BlockhashWithExpiryBlockHeight; at: number } | null = null;
  private nonce = 0;
  private readonly ttl: number;
  private readonly self: boolean;
  private readonly landing: SolTransferOptions['landing'];

  constructor(
    private readonly conn: Connection,
    payer: Keypair,
    private readonly signer: OffThreadSigner,
    private readonly clock: Clock,
    options: SolTransferOptions = {},
  ) {
    this.payer = payer;
    this.payerKey = SigningKey.fromSecretKey(payer.secretKey);
    this.ttl = options.blockhashTtlMs ?? 2000;
    this.self = options.selfTransfer ?? false;
    this.landing = options.landing;
    for (const t of MEME_TOKENS) this.recipients.set(t, Keypair.generate().publicKey);
  }

  /** Local cluster: airdrops `sol` to the payer and waits for it to be confirmed. */
  async fundByAirdrop(sol: number, timeoutMs: number): Promise<void> {
    const sig = await this.conn.requestAirdrop(this.payer.publicKey, sol * LAMPORTS_PER_SOL);
    const latest = await this.conn.getLatestBlockhash('confirmed');
    const res = await this.conn.confirmTransaction(
      { signature: sig, ...latest, abortSignal: AbortSignal.timeout(timeoutMs) },
      'confirmed',
    );
    if (res.value.err) throw new DemoWalletError(`airdrop failed: ${JSON.stringify(res.value.err)}`);
  }

  async balanceSol(): Promise<number> {
    return (await this.conn.getBalance(this.payer.publicKey, 'confirmed')) / LAMPORTS_PER_SOL;
  }

  async transfer(token: string, signal: AbortSignal): Promise<{ signature: string }> {
    const latest = this.landing ? await this.landing.blockhashes.get() : await this.latestBlockhash();
    const to = this.self ? this.payer.publicKey : (this.recipients.get(token) ?? this.payer.publicKey);
    // A distinct amount per transfer keeps two transfers in one blockhash from having one
    // signature; 0.001 SOL and up keeps a fresh recipient above the rent-exempt minimum.
    const lamports = 1_000_000 + (this.nonce++ % 1_000_000);
    const tx = new Transaction({ feePayer: this.payer.publicKey, ...latest }).add(
      SystemProgram.transfer({ fromPubkey: this.payer.publicKey, toPubkey: to, lamports }),
    );
    // The transfer's deadline also bounds its signature: an aborted transfer leaves the signer's queue at once.
    const { wire } = await signMessageToWire(this.signer, tx.compileMessage().serialize(), [this.payerKey], { signal });
    if (this.landing) {
      // The lander broadcasts the same bytes and polls statuses until landed or expired: one span
      // over both, with its status checks (rpc getSignatureStatuses) inside it.
      const landed = await inSpan('send', () =>
        this.landing!.lander.land(wire, { lastValidBlockHeight: latest.lastValidBlockHeight, signal }),
      );
      if (landed.status !== 'landed') throw new LandOutcomeError(landed);
      return { signature: landed.signature };
    }
    const signature = await inSpan('send', () =>
      this.conn.sendRawTransaction(wire, { skipPreflight: false, maxRetries: 0 }),
    );
    const res = await inSpan('confirmation', () =>
      this.conn.confirmTransaction({ signature, ...latest, abortSignal: signal }, 'confirmed'),
    );
    if (res.value.err) throw new DemoWalletError(`transaction ${signature} failed: ${JSON.stringify(res.value.err)}`);
    return { signature };
  }

  signerStats(): OffThreadSignerStats {
    return this.signer.stats();
  }

  private async latestBlockhash(): Promise<BlockhashWithExpiryBlockHeight> {
    const now = this.clock.now();
    if (this.blockhash && now - this.blockhash.at < this.ttl) return this.blockhash.value;
    const value = await this.conn.getLatestBlockhash('confirmed');
    this.blockhash = { value, at: now };
    return value;
  }
}
