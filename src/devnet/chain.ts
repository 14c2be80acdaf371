/**
 * One chain: a litesvm instance (the real Solana runtime: signature, fee, rent and program
 * checks) wrapped with what litesvm leaves out and an RPC node has: slots that advance with
 * time, a queue of recent blockhashes that stay valid for ~150 blocks, commitment levels, and a
 * signature status cache. Every provider port of the local cluster serves this same chain.
 *
 * litesvm only ever accepts its single latest blockhash, so its own blockhash check is turned
 * off and the age check is done here against the queue, the way a bank does it.
 */
import { createHash } from 'node:crypto';
import {
  EpochSchedule,
  FailedTransactionMetadata,
  LiteSvm,
  type Account,
  type TransactionMetadata,
} from 'litesvm/dist/internal.js';
import type { Clock, TimerHandle } from '../clock.ts';
import type { Logger } from '../log/index.ts';
import { encodeBase58 } from '../encoding/base58.ts';
import { rpcError, RPC_CODES } from './errors.ts';
import {
  describeTransactionError,
  namedTransactionError,
  type DescribedError,
  type TransactionErrorJson,
} from './tx-errors.ts';
import { transactionFee, type DecodedMessage, type DecodedTransaction } from './wire.ts';

export type Commitment = 'processed' | 'confirmed' | 'finalized';
export type ConfirmationStatus = Commitment;

export interface ChainOptions {
  slotMs: number;
  clock: Clock;
  logger: Logger;
  /** Slot of the first block (default 1000). Block height starts 100 lower: genesis skipped slots. */
  startSlot?: number;
  /** Slots after which a block counts as confirmed (default 1). */
  confirmationDepth?: number;
  /** Slots after which a block counts as finalized/rooted (default 32, as on mainnet). */
  finalizationDepth?: number;
  /**
   * Blocks a blockhash stays usable. Default: 150 (Solana's MAX_PROCESSING_AGE, 60 s at 400 ms
   * slots), raised on fast test chains to keep at least 45 s of wall time, because clients cache
   * blockhashes by time (web3.js v1 for 30 s) and would otherwise sign with expired ones.
   */
  blockhashMaxAge?: number;
  /** Slots a status stays visible without `searchTransactionHistory` (default 300). */
  statusCacheSlots?: number;
  /** Transactions kept for status/getTransaction lookups (default 10 000; older ones are evicted and counted). */
  historyCapacity?: number;
}

export interface BlockInfo {
  slot: number;
  height: number;
  blockhash: string;
  /** Milliseconds since the epoch when the block was produced. */
  time: number;
}

export interface TxRecord {
  signature: string;
  slot: number;
  err: TransactionErrorJson | null;
  fee: number;
  logs: string[];
  unitsConsumed: number;
  accountKeys: string[];
  preBalances: number[];
  postBalances: number[];
  /** Canonical wire bytes; absent for airdrops, which the SVM builds internally. */
  bytes?: Uint8Array;
  version: 'legacy' | 0;
  blockTime: number;
  computeUnitPrice: bigint;
}

export interface SignatureStatusJson {
  slot: number;
  confirmations: number | null;
  err: TransactionErrorJson | null;
  status: { Ok: null } | { Err: TransactionErrorJson };
  confirmationStatus: ConfirmationStatus;
}

export interface SimulationResult {
  err: TransactionErrorJson | null;
  logs: string[];
  accounts: Array<Account | null> | null;
  unitsConsumed: number;
  returnData: { programId: string; data: [string, 'base64'] } | null;
  replacementBlockhash: { blockhash: string; lastValidBlockHeight: number } | null;
  /** Set when the simulation failed, for callers that turn it into an error. */
  error: DescribedError | null;
}

export interface ChainStats {
  slot: number;
  blockHeight: number;
  transactionsLanded: number;
  transactionsFailedOnChain: number;
  airdrops: number;
  /** Transactions accepted by sendTransaction that can never land, by reason (skipPreflight). */
  dropped: Record<string, number>;
  /** sendTransaction calls refused by preflight, by reason. */
  preflightRejected: Record<string, number>;
  /** Records pushed out of the bounded history. */
  historyEvicted: number;
}

type SlotListener = (block: BlockInfo) => void;
type TxListener = (record: TxRecord) => void;

const BLOCK_RING = 1024;
const PRIORITY_FEE_SLOTS = 150;
const SLOTS_PER_EPOCH = 432_000;

export class LocalChain {
  readonly svm: LiteSvm;
  readonly genesisHash: string;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly slotMs: number;
  readonly startSlot: number;
  private readonly confirmationDepth: number;
  private readonly finalizationDepth: number;
  readonly blockhashMaxAge: number;
  private readonly statusCacheSlots: number;
  private readonly historyCapacity: number;

  private tipSlot: number;
  private tipHeight: number;
  private readonly blocks = new Map<number, BlockInfo>();
  /** blockhash → block height it was produced at; pruned past the max age. */
  private readonly hashHeights = new Map<string, number>();
  private readonly records = new Map<string, TxRecord>();
  private readonly feesBySlot = new Map<number, Array<{ price: bigint; keys: string[] }>>();
  private readonly slotListeners = new Set<SlotListener>();
  private readonly txListeners = new Set<TxListener>();
  private timer: TimerHandle | undefined;
  private startedAt = 0;
  private extraSlots = 0;
  private transactionCount = 0;
  private readonly stats = {
    transactionsLanded: 0,
    transactionsFailedOnChain: 0,
    airdrops: 0,
    historyEvicted: 0,
    dropped: {} as Record<string, number>,
    preflightRejected: {} as Record<string, number>,
  };

  constructor(options: ChainOptions) {
    this.clock = options.clock;
    this.logger = options.logger;
    this.slotMs = options.slotMs;
    this.startSlot = options.startSlot ?? 1000;
    this.confirmationDepth = options.confirmationDepth ?? 1;
    this.finalizationDepth = options.finalizationDepth ?? 32;
    this.blockhashMaxAge = options.blockhashMaxAge ?? Math.max(150, Math.ceil(45_000 / options.slotMs));
    this.statusCacheSlots = options.statusCacheSlots ?? 300;
    this.historyCapacity = options.historyCapacity ?? 10_000;

    this.svm = new LiteSvm();
    this.svm.setBlockhashCheck(false);
    this.svm.setTransactionHistory(BigInt(this.historyCapacity));
    this.svm.setEpochSchedule(new EpochSchedule(BigInt(SLOTS_PER_EPOCH), BigInt(SLOTS_PER_EPOCH), false, 0n, 0n));
    this.genesisHash = encodeBase58(
      createHash('sha256').update('palisade-devnet-genesis').update(this.svm.latestBlockhash()).digest(),
    );
    this.tipSlot = this.startSlot - 1;
    this.tipHeight = Math.max(0, this.startSlot - 100) - 1;
    this.produceBlock();
  }

  /** Starts advancing one slot every `slotMs` of the injected clock. */
  start(): void {
    if (this.timer !== undefined) return;
    this.startedAt = this.clock.now();
    this.extraSlots = this.tipSlot - this.startSlot;
    this.schedule();
  }

  stop(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Produces `n` blocks now (tests use it to expire blockhashes or finalize without waiting). */
  advanceSlots(n: number): void {
    this.extraSlots += n;
    for (let i = 0; i < n; i++) this.produceBlock();
  }

  get slot(): number {
    return this.tipSlot;
  }

  get blockHeight(): number {
    return this.tipHeight;
  }

  get transactionTotal(): number {
    return this.transactionCount;
  }

  get slotsPerEpoch(): number {
    return SLOTS_PER_EPOCH;
  }

  onSlot(fn: SlotListener): () => void {
    this.slotListeners.add(fn);
    return () => this.slotListeners.delete(fn);
  }

  onTransaction(fn: TxListener): () => void {
    this.txListeners.add(fn);
    return () => this.txListeners.delete(fn);
  }

  getStats(): ChainStats {
    return {
      slot: this.tipSlot,
      blockHeight: this.tipHeight,
      transactionsLanded: this.stats.transactionsLanded,
      transactionsFailedOnChain: this.stats.transactionsFailedOnChain,
      airdrops: this.stats.airdrops,
      dropped: { ...this.stats.dropped },
      preflightRejected: { ...this.stats.preflightRejected },
      historyEvicted: this.stats.historyEvicted,
    };
  }

  /** The slot a node `lag` slots behind serves at `commitment`. */
  slotFor(commitment: Commitment, lag = 0): number {
    return Math.max(this.oldestBlockSlot(), this.tipSlot - lag - this.depth(commitment));
  }

  private depth(commitment: Commitment): number {
    return commitment === 'processed'
      ? 0
      : commitment === 'confirmed'
        ? this.confirmationDepth
        : this.finalizationDepth;
  }

  blockAt(slot: number): BlockInfo {
    const clamped = Math.min(this.tipSlot, Math.max(this.oldestBlockSlot(), slot));
    return this.blocks.get(clamped)!;
  }

  latestBlockhash(commitment: Commitment, lag = 0): { blockhash: string; lastValidBlockHeight: number; slot: number } {
    const block = this.blockAt(this.slotFor(commitment, lag));
    return { blockhash: block.blockhash, lastValidBlockHeight: block.height + this.blockhashMaxAge, slot: block.slot };
  }

  /** Whether a transaction using `blockhash` would be accepted by a node at `slot`. */
  isBlockhashValid(blockhash: string, slot = this.tipSlot): boolean {
    const height = this.hashHeights.get(blockhash);
    if (height === undefined) return false;
    const atHeight = this.blockAt(slot).height;
    return height <= atHeight && atHeight <= height + this.blockhashMaxAge;
  }

  getAccount(address: Uint8Array): Account | null {
    return this.svm.getAccount(address);
  }

  getBalance(address: Uint8Array): number {
    const b = this.svm.getBalance(address);
    return b === null ? 0 : Number(b);
  }

  minimumBalanceForRentExemption(dataLen: number): number {
    return Number(this.svm.minimumBalanceForRentExemption(BigInt(dataLen)));
  }

  feeForMessage(message: DecodedMessage, slot = this.tipSlot): number | null {
    if (!this.isBlockhashValid(message.recentBlockhash, slot)) return null;
    return transactionFee(message);
  }

  /**
   * Runs a transaction without committing it. With `sigVerify` false (the RPC default) the
   * signatures are not checked, so unsigned transactions can be simulated.
   */
  simulate(
    tx: DecodedTransaction,
    options: { sigVerify: boolean; replaceRecentBlockhash: boolean; accounts?: Uint8Array[] | undefined },
  ): SimulationResult {
    const replacement = options.replaceRecentBlockhash ? this.latestBlockhash('processed') : null;
    const replacementBlockhash = replacement
      ? { blockhash: replacement.blockhash, lastValidBlockHeight: replacement.lastValidBlockHeight }
      : null;
    if (!replacement && !this.isBlockhashValid(tx.recentBlockhash)) {
      return this.earlyFailure(namedTransactionError('BlockhashNotFound'), replacementBlockhash);
    }
    const sigverify = this.svm.getSigverify();
    if (sigverify !== options.sigVerify) this.svm.setSigverify(options.sigVerify);
    let outcome: ReturnType<LiteSvm['simulateVersionedTransaction']>;
    try {
      outcome = this.svm.simulateVersionedTransaction(tx.bytes);
    } finally {
      if (sigverify !== options.sigVerify) this.svm.setSigverify(sigverify);
    }
    if (outcome instanceof FailedTransactionMetadata) {
      const error = describeTransactionError(outcome);
      const meta = outcome.meta();
      return {
        err: error.json,
        logs: meta.logs(),
        accounts: null,
        unitsConsumed: Number(meta.computeUnitsConsumed()),
        returnData: null,
        replacementBlockhash,
        error,
      };
    }
    const meta = outcome.meta();
    let accounts: Array<Account | null> | null = null;
    if (options.accounts) {
      const post = new Map<string, Account>();
      for (const a of outcome.postAccounts()) post.set(Buffer.from(a.address).toString('hex'), a.account());
      accounts = options.accounts.map(
        (addr) => post.get(Buffer.from(addr).toString('hex')) ?? this.svm.getAccount(addr),
      );
    }
    const rd = meta.returnData();
    const rdData = rd.data();
    return {
      err: null,
      logs: meta.logs(),
      accounts,
      unitsConsumed: Number(meta.computeUnitsConsumed()),
      returnData: rdData.length
        ? { programId: encodeBase58(rd.programId()), data: [Buffer.from(rdData).toString('base64'), 'base64'] }
        : null,
      replacementBlockhash,
      error: null,
    };
  }

  /**
   * sendTransaction. With preflight, a transaction that would fail is refused with the error a
   * Solana node gives (-32003 for a bad signature, -32002 with the simulation for the rest) and
   * nothing is committed. Without preflight it is executed as the leader would: failures after
   * the fee is paid land with an error; ones that can never land are dropped and counted.
   */
  sendTransaction(tx: DecodedTransaction, options: { skipPreflight: boolean }): string {
    if (!options.skipPreflight) {
      const sim = this.simulate(tx, { sigVerify: true, replaceRecentBlockhash: false });
      if (sim.error) {
        this.count(this.stats.preflightRejected, sim.error.name);
        if (sim.error.name === 'SignatureFailure') {
          throw rpcError(
            RPC_CODES.transactionSignatureVerificationFailure,
            'Transaction signature verification failure',
          );
        }
        throw rpcError(RPC_CODES.sendTransactionPreflightFailure, `Transaction simulation failed: ${sim.error.text}`, {
          accounts: null,
          err: sim.err,
          innerInstructions: null,
          loadedAccountsDataSize: null,
          logs: sim.logs,
          replacementBlockhash: null,
          returnData: null,
          unitsConsumed: sim.unitsConsumed,
        });
      }
    }
    this.execute(tx);
    return tx.signature;
  }

  private execute(tx: DecodedTransaction): void {
    if (!this.isBlockhashValid(tx.recentBlockhash)) return this.drop(tx, 'BlockhashNotFound');
    if (this.records.has(tx.signature)) return this.drop(tx, 'AlreadyProcessed');
    const keyBytes = tx.message.staticAccountKeys.map((k) => k.toBytes());
    const preBalances = keyBytes.map((k) => this.getBalance(k));
    const outcome = this.svm.sendVersionedTransaction(tx.bytes);
    let err: TransactionErrorJson | null = null;
    let meta: TransactionMetadata;
    if (outcome instanceof FailedTransactionMetadata) {
      const error = describeTransactionError(outcome);
      // Only failures past fee payment are written to the ledger; the SVM keeps those in its history.
      if (error.name === 'AlreadyProcessed' || this.svm.getTransaction(tx.signatureBytes) === null)
        return this.drop(tx, error.name);
      err = error.json;
      meta = outcome.meta();
    } else {
      meta = outcome;
    }
    const record: TxRecord = {
      signature: tx.signature,
      slot: this.tipSlot,
      err,
      fee: transactionFee(tx),
      logs: meta.logs(),
      unitsConsumed: Number(meta.computeUnitsConsumed()),
      accountKeys: tx.accountKeys,
      preBalances,
      postBalances: keyBytes.map((k) => this.getBalance(k)),
      bytes: tx.bytes,
      version: tx.version,
      blockTime: Math.floor(this.clock.now() / 1000),
      computeUnitPrice: tx.computeUnitPrice,
    };
    this.land(record, tx.accountKeys);
  }

  /** requestAirdrop: a transfer from litesvm's faucet account, landed in the current slot. */
  airdrop(address: Uint8Array, lamports: bigint): string {
    const pre = this.getBalance(address);
    let outcome = this.svm.airdrop(address, lamports);
    // The faucet transaction is a pure function of (recipient, amount, blockhash): a second
    // identical airdrop in the same slot would be a duplicate, so it gets a fresh blockhash.
    if (outcome instanceof FailedTransactionMetadata && describeTransactionError(outcome).name === 'AlreadyProcessed') {
      this.svm.expireBlockhash();
      this.hashHeights.set(this.svm.latestBlockhash(), this.tipHeight);
      outcome = this.svm.airdrop(address, lamports);
    }
    if (outcome === null) throw rpcError(RPC_CODES.internalError, 'airdrop request failed');
    if (outcome instanceof FailedTransactionMetadata) {
      throw rpcError(RPC_CODES.internalError, `airdrop request failed: ${describeTransactionError(outcome).text}`);
    }
    const signature = encodeBase58(outcome.signature());
    const key = encodeBase58(address);
    this.stats.airdrops++;
    this.land(
      {
        signature,
        slot: this.tipSlot,
        err: null,
        fee: 5000,
        logs: outcome.logs(),
        unitsConsumed: Number(outcome.computeUnitsConsumed()),
        accountKeys: [key],
        preBalances: [pre],
        postBalances: [this.getBalance(address)],
        version: 'legacy',
        blockTime: Math.floor(this.clock.now() / 1000),
        computeUnitPrice: 0n,
      },
      [key],
    );
    return signature;
  }

  /** A status as getSignatureStatuses reports it, or null when this node does not know it. */
  signatureStatus(
    signature: string,
    options: { searchTransactionHistory: boolean; lag?: number },
  ): SignatureStatusJson | null {
    const rec = this.records.get(signature);
    if (!rec) return null;
    const seenTip = this.tipSlot - (options.lag ?? 0);
    if (rec.slot > seenTip) return null;
    const age = seenTip - rec.slot;
    if (!options.searchTransactionHistory && age > this.statusCacheSlots) return null;
    const confirmationStatus: ConfirmationStatus =
      age >= this.finalizationDepth ? 'finalized' : age >= this.confirmationDepth ? 'confirmed' : 'processed';
    return {
      slot: rec.slot,
      confirmations: confirmationStatus === 'finalized' ? null : age,
      err: rec.err,
      status: rec.err === null ? { Ok: null } : { Err: rec.err },
      confirmationStatus,
    };
  }

  /** Whether a landed transaction has reached `commitment` as seen by a node `lag` slots behind. */
  reached(signature: string, commitment: Commitment, lag = 0): TxRecord | undefined {
    const rec = this.records.get(signature);
    if (!rec) return undefined;
    // Not slotFor(): that clamps to the first block, which would confirm early transactions at once.
    return rec.slot <= this.tipSlot - lag - this.depth(commitment) ? rec : undefined;
  }

  getRecord(signature: string): TxRecord | undefined {
    return this.records.get(signature);
  }

  /** Newest first, as getSignaturesForAddress answers. */
  signaturesForAddress(address: string, maxSlot: number): TxRecord[] {
    const out: TxRecord[] = [];
    for (const rec of this.records.values())
      if (rec.slot <= maxSlot && rec.accountKeys.includes(address)) out.push(rec);
    return out.reverse();
  }

  /** Per recent slot, the lowest compute-unit price among landed transactions touching `addresses`. */
  recentPrioritizationFees(addresses: string[]): Array<{ slot: number; prioritizationFee: number }> {
    const out: Array<{ slot: number; prioritizationFee: number }> = [];
    const from = Math.max(this.oldestBlockSlot(), this.tipSlot - PRIORITY_FEE_SLOTS + 1);
    for (let slot = from; slot <= this.tipSlot; slot++) {
      let min: bigint | undefined;
      for (const t of this.feesBySlot.get(slot) ?? []) {
        if (addresses.length && !t.keys.some((k) => addresses.includes(k))) continue;
        if (min === undefined || t.price < min) min = t.price;
      }
      out.push({ slot, prioritizationFee: Number(min ?? 0n) });
    }
    return out;
  }

  epochInfo(slot: number): {
    epoch: number;
    slotIndex: number;
    slotsInEpoch: number;
    absoluteSlot: number;
    blockHeight: number;
    transactionCount: number;
  } {
    return {
      epoch: Math.floor(slot / SLOTS_PER_EPOCH),
      slotIndex: slot % SLOTS_PER_EPOCH,
      slotsInEpoch: SLOTS_PER_EPOCH,
      absoluteSlot: slot,
      blockHeight: this.blockAt(slot).height,
      transactionCount: this.transactionCount,
    };
  }

  private land(record: TxRecord, keys: string[]): void {
    this.records.set(record.signature, record);
    this.transactionCount++;
    if (record.err === null) this.stats.transactionsLanded++;
    else this.stats.transactionsFailedOnChain++;
    if (this.records.size > this.historyCapacity) {
      const oldest = this.records.keys().next().value as string;
      this.records.delete(oldest);
      this.stats.historyEvicted++;
    }
    if (record.err === null) {
      let list = this.feesBySlot.get(record.slot);
      if (!list) {
        list = [];
        this.feesBySlot.set(record.slot, list);
      }
      list.push({ price: record.computeUnitPrice, keys });
    }
    this.logger.debug(
      { signature: record.signature, slot: record.slot, err: record.err },
      'devnet: transaction landed',
    );
    for (const fn of this.txListeners) fn(record);
  }

  private drop(tx: DecodedTransaction, reason: string): void {
    this.count(this.stats.dropped, reason);
    this.logger.info({ signature: tx.signature, reason }, 'devnet: transaction dropped, it can never land');
  }

  private count(map: Record<string, number>, key: string): void {
    map[key] = (map[key] ?? 0) + 1;
  }

  private earlyFailure(
    error: DescribedError,
    replacementBlockhash: SimulationResult['replacementBlockhash'],
  ): SimulationResult {
    return {
      err: error.json,
      logs: [],
      accounts: null,
      unitsConsumed: 0,
      returnData: null,
      replacementBlockhash,
      error,
    };
  }

  private oldestBlockSlot(): number {
    return Math.max(this.startSlot, this.tipSlot - BLOCK_RING + 1);
  }

  private schedule(): void {
    const elapsed = this.clock.now() - this.startedAt;
    const wait = this.slotMs - (elapsed % this.slotMs);
    this.timer = this.clock.setTimeout(() => this.tick(), wait);
  }

  private tick(): void {
    // Catch up by wall time so a stalled event loop does not slow the chain down.
    const target = this.startSlot + this.extraSlots + Math.floor((this.clock.now() - this.startedAt) / this.slotMs);
    while (this.tipSlot < target) this.produceBlock();
    this.schedule();
  }

  private produceBlock(): void {
    this.tipSlot++;
    this.tipHeight++;
    if (this.tipSlot > this.startSlot) this.svm.expireBlockhash();
    const now = this.clock.now();
    const clock = this.svm.getClock();
    clock.slot = BigInt(this.tipSlot);
    clock.epoch = BigInt(Math.floor(this.tipSlot / SLOTS_PER_EPOCH));
    clock.unixTimestamp = BigInt(Math.floor(now / 1000));
    this.svm.setClock(clock);
    const block: BlockInfo = {
      slot: this.tipSlot,
      height: this.tipHeight,
      blockhash: this.svm.latestBlockhash(),
      time: now,
    };
    this.blocks.set(block.slot, block);
    this.blocks.delete(block.slot - BLOCK_RING);
    this.hashHeights.set(block.blockhash, block.height);
    this.feesBySlot.delete(block.slot - PRIORITY_FEE_SLOTS);
    if (this.hashHeights.size > this.blockhashMaxAge * 2 + 16) {
      for (const [hash, height] of this.hashHeights) {
        if (height >= this.tipHeight - this.blockhashMaxAge) break;
        this.hashHeights.delete(hash);
      }
    }
    for (const fn of this.slotListeners) fn(block);
  }
}
