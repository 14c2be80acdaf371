/**
 * The JSON-RPC methods of the local cluster, answered from one LocalChain in the shapes a Solana
 * node uses (and that @solana/web3.js v1 checks with superstruct): `{ context: { slot }, value }`
 * wrappers where Solana has them, u64 values as JSON numbers, base58 text for keys and hashes.
 *
 * Account state is the chain tip whatever the commitment asked: litesvm keeps one state, not a
 * bank per slot. Slots, blockhashes and signature statuses do honour commitment and slot lag.
 */
import type { Account } from 'litesvm/dist/internal.js';
import { encodeBase58 } from '../encoding/base58.ts';
import type { Commitment, LocalChain, TxRecord } from './chain.ts';
import { invalidParams, rpcError, RPC_CODES } from './errors.ts';
import {
  boolOption,
  checkMinContextSlot,
  commitmentOf,
  configAt,
  hashParam,
  pubkeyParam,
  required,
  signatureParam,
  stringOption,
  u64Param,
  type Config,
} from './params.ts';
import { decodeMessage, decodeTransaction } from './wire.ts';

export interface CallContext {
  chain: LocalChain;
  /** Slots this provider is behind the chain tip (the slot-lag fault). */
  lag: number;
  /** The node identity reported by getIdentity. */
  identity: string;
}

export type MethodHandler = (params: unknown[], ctx: CallContext) => unknown;

/** Solana's default `--health-check-slot-distance`. */
export const HEALTH_CHECK_SLOT_DISTANCE = 128;
const MAX_MULTIPLE_ACCOUNTS = 100;
const MAX_SIGNATURE_STATUSES = 256;
const MAX_PRIORITY_FEE_ADDRESSES = 128;
const MAX_BASE58_ACCOUNT_BYTES = 128;
const ACCOUNT_ENCODINGS = ['base58', 'base64', 'base64+zstd', 'jsonParsed', 'binary'] as const;
type AccountEncoding = (typeof ACCOUNT_ENCODINGS)[number];

function slotFor(ctx: CallContext, config: Config, key = 'commitment'): number {
  const slot = ctx.chain.slotFor(commitmentOf(config, key), ctx.lag);
  checkMinContextSlot(config, slot);
  return slot;
}

function withContext(slot: number, value: unknown): { context: { apiVersion: string; slot: number }; value: unknown } {
  return { context: { apiVersion: '2.2.0', slot }, value };
}

export interface AccountView {
  encoding: AccountEncoding;
  slice: { offset: number; length: number } | undefined;
}

export function accountView(config: Config): AccountView {
  const encoding = stringOption(config, 'encoding', ACCOUNT_ENCODINGS, 'binary');
  if (encoding === 'base64+zstd')
    throw invalidParams('Invalid params: base64+zstd encoding is not supported by the local cluster; use base64');
  const ds = config['dataSlice'];
  let slice: AccountView['slice'];
  if (ds !== undefined && ds !== null) {
    const d = ds as Record<string, unknown>;
    slice = { offset: u64Param(d['offset'], 'dataSlice.offset'), length: u64Param(d['length'], 'dataSlice.length') };
  }
  return { encoding, slice };
}

export function accountJson(account: Account, view: AccountView): Record<string, unknown> {
  const full = account.data();
  const data = view.slice ? full.subarray(view.slice.offset, view.slice.offset + view.slice.length) : full;
  let encoded: unknown;
  switch (view.encoding) {
    case 'binary':
      encoded = encodeBase58(data);
      break;
    case 'base58':
      if (data.length > MAX_BASE58_ACCOUNT_BYTES) {
        throw rpcError(
          RPC_CODES.invalidRequest,
          'Encoded binary (base 58) data should be less than 128 bytes, please use Base64 encoding.',
        );
      }
      encoded = [encodeBase58(data), 'base58'];
      break;
    default:
      // jsonParsed falls back to base64 for accounts without a parser, as nodes do.
      encoded = [Buffer.from(data).toString('base64'), 'base64'];
  }
  return {
    data: encoded,
    executable: account.executable(),
    lamports: Number(account.lamports()),
    owner: encodeBase58(account.owner()),
    rentEpoch: Number(account.rentEpoch()),
    space: full.length,
  };
}

function encodingOf(config: Config): 'base58' | 'base64' {
  return stringOption(config, 'encoding', ['base58', 'base64'] as const, 'base58');
}

function statusOf(rec: TxRecord, chain: LocalChain, lag: number): Commitment {
  return (
    chain.signatureStatus(rec.signature, { searchTransactionHistory: true, lag })?.confirmationStatus ?? 'processed'
  );
}

function transactionJson(rec: TxRecord & { bytes: Uint8Array }, encoding: string): unknown {
  if (encoding === 'base64') return [Buffer.from(rec.bytes).toString('base64'), 'base64'];
  if (encoding === 'base58') return [encodeBase58(rec.bytes), 'base58'];
  // 'json' (and jsonParsed, answered unparsed): the decoded transaction.
  const tx = decodeTransaction(Buffer.from(rec.bytes).toString('base64'), 'base64');
  const m = tx.message;
  const message: Record<string, unknown> = {
    accountKeys: tx.accountKeys,
    header: m.header,
    instructions: m.compiledInstructions.map((ix) => ({
      programIdIndex: ix.programIdIndex,
      accounts: ix.accountKeyIndexes,
      data: encodeBase58(ix.data),
      stackHeight: null,
    })),
    recentBlockhash: m.recentBlockhash,
  };
  if (tx.version === 0) {
    message['addressTableLookups'] = m.addressTableLookups.map((l) => ({
      accountKey: l.accountKey.toBase58(),
      writableIndexes: l.writableIndexes,
      readonlyIndexes: l.readonlyIndexes,
    }));
  }
  const sigs = signaturesOf(rec.bytes);
  return { signatures: sigs, message };
}

function signaturesOf(bytes: Uint8Array): string[] {
  // Wire format: compact-u16 count, then 64-byte signatures. Counts here are < 128 (one byte).
  const n = bytes[0] ?? 0;
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(encodeBase58(bytes.subarray(1 + i * 64, 1 + (i + 1) * 64)));
  return out;
}

export const METHODS: Record<string, MethodHandler> = {
  getHealth: (_p, ctx) => {
    if (ctx.lag > HEALTH_CHECK_SLOT_DISTANCE) {
      throw rpcError(RPC_CODES.nodeUnhealthy, `Node is behind by ${ctx.lag} slots`, { numSlotsBehind: ctx.lag });
    }
    return 'ok';
  },

  getVersion: () => ({ 'solana-core': '2.2.0', 'feature-set': 0, 'palisade-devnet': 'litesvm 1.5' }),

  getGenesisHash: (_p, ctx) => ctx.chain.genesisHash,

  getIdentity: (_p, ctx) => ({ identity: ctx.identity }),

  getSlot: (p, ctx) => slotFor(ctx, configAt(p, 0)),

  getBlockHeight: (p, ctx) => ctx.chain.blockAt(slotFor(ctx, configAt(p, 0))).height,

  getTransactionCount: (p, ctx) => {
    slotFor(ctx, configAt(p, 0));
    return ctx.chain.transactionTotal;
  },

  getEpochInfo: (p, ctx) => ctx.chain.epochInfo(slotFor(ctx, configAt(p, 0))),

  getEpochSchedule: (_p, ctx) => ({
    slotsPerEpoch: ctx.chain.slotsPerEpoch,
    leaderScheduleSlotOffset: ctx.chain.slotsPerEpoch,
    warmup: false,
    firstNormalEpoch: 0,
    firstNormalSlot: 0,
  }),

  getLatestBlockhash: (p, ctx) => {
    const config = configAt(p, 0);
    const slot = slotFor(ctx, config);
    const b = ctx.chain.latestBlockhash(commitmentOf(config), ctx.lag);
    return withContext(slot, { blockhash: b.blockhash, lastValidBlockHeight: b.lastValidBlockHeight });
  },

  isBlockhashValid: (p, ctx) => {
    const hash = hashParam(required(p, 0, 'blockhash'));
    const config = configAt(p, 1);
    const slot = slotFor(ctx, config);
    return withContext(slot, ctx.chain.isBlockhashValid(hash, slot));
  },

  getBalance: (p, ctx) => {
    const key = pubkeyParam(required(p, 0, 'pubkey'));
    const slot = slotFor(ctx, configAt(p, 1));
    return withContext(slot, ctx.chain.getBalance(key));
  },

  getAccountInfo: (p, ctx) => {
    const key = pubkeyParam(required(p, 0, 'pubkey'));
    const config = configAt(p, 1);
    const view = accountView(config);
    const slot = slotFor(ctx, config);
    const account = ctx.chain.getAccount(key);
    return withContext(slot, account ? accountJson(account, view) : null);
  },

  getMultipleAccounts: (p, ctx) => {
    const list = required<unknown>(p, 0, 'pubkeys');
    if (!Array.isArray(list)) throw invalidParams('Invalid params: pubkeys must be an array');
    if (list.length > MAX_MULTIPLE_ACCOUNTS)
      throw invalidParams(`Too many inputs provided; max ${MAX_MULTIPLE_ACCOUNTS}`);
    const keys = list.map(pubkeyParam);
    const config = configAt(p, 1);
    const view = accountView(config);
    const slot = slotFor(ctx, config);
    return withContext(
      slot,
      keys.map((k) => {
        const a = ctx.chain.getAccount(k);
        return a ? accountJson(a, view) : null;
      }),
    );
  },

  getMinimumBalanceForRentExemption: (p, ctx) => {
    const len = u64Param(p[0] ?? 0, 'data length');
    if (len > 10 * 1024 * 1024)
      throw invalidParams('Invalid params: data length exceeds the maximum account size (10 MiB)');
    slotFor(ctx, configAt(p, 1));
    return ctx.chain.minimumBalanceForRentExemption(len);
  },

  getFeeForMessage: (p, ctx) => {
    const message = decodeMessage(required(p, 0, 'message'));
    const slot = slotFor(ctx, configAt(p, 1));
    return withContext(slot, ctx.chain.feeForMessage(message, slot));
  },

  getRecentPrioritizationFees: (p, ctx) => {
    const list = p[0] ?? [];
    if (!Array.isArray(list)) throw invalidParams('Invalid params: addresses must be an array');
    if (list.length > MAX_PRIORITY_FEE_ADDRESSES)
      throw invalidParams(`Too many inputs provided; max ${MAX_PRIORITY_FEE_ADDRESSES}`);
    const addresses = list.map((a) => encodeBase58(pubkeyParam(a)));
    return ctx.chain.recentPrioritizationFees(addresses).filter((f) => f.slot <= ctx.chain.slot - ctx.lag);
  },

  requestAirdrop: (p, ctx) => {
    const key = pubkeyParam(required(p, 0, 'pubkey'));
    const lamports = u64Param(required(p, 1, 'lamports'), 'lamports');
    if (lamports === 0) throw invalidParams('Invalid params: lamports must be positive');
    return ctx.chain.airdrop(key, BigInt(lamports));
  },

  simulateTransaction: (p, ctx) => {
    const config = configAt(p, 1);
    const tx = decodeTransaction(required(p, 0, 'transaction'), encodingOf(config));
    const sigVerify = boolOption(config, 'sigVerify', false);
    const replaceRecentBlockhash = boolOption(config, 'replaceRecentBlockhash', false);
    if (sigVerify && replaceRecentBlockhash)
      throw invalidParams('sigVerify may not be used with replaceRecentBlockhash');
    const slot = slotFor(ctx, config);
    let accounts: Uint8Array[] | undefined;
    let view: AccountView | undefined;
    const ac = config['accounts'];
    if (ac !== undefined && ac !== null) {
      const addrs = (ac as Record<string, unknown>)['addresses'];
      if (!Array.isArray(addrs)) throw invalidParams('Invalid params: accounts.addresses must be an array');
      accounts = addrs.map(pubkeyParam);
      view = accountView({ encoding: (ac as Record<string, unknown>)['encoding'] ?? 'base64' });
    }
    const sim = ctx.chain.simulate(tx, { sigVerify, replaceRecentBlockhash, accounts });
    return withContext(slot, {
      err: sim.err,
      logs: sim.logs,
      accounts: sim.accounts && view ? sim.accounts.map((a) => (a ? accountJson(a, view) : null)) : null,
      unitsConsumed: sim.unitsConsumed,
      returnData: sim.returnData,
      innerInstructions: null,
      replacementBlockhash: sim.replacementBlockhash,
      loadedAccountsDataSize: null,
    });
  },

  sendTransaction: (p, ctx) => {
    const config = configAt(p, 1);
    const tx = decodeTransaction(required(p, 0, 'transaction'), encodingOf(config));
    const skipPreflight = boolOption(config, 'skipPreflight', false);
    if (!skipPreflight) slotFor(ctx, config, 'preflightCommitment');
    return ctx.chain.sendTransaction(tx, { skipPreflight });
  },

  getSignatureStatuses: (p, ctx) => {
    const list = required<unknown>(p, 0, 'signatures');
    if (!Array.isArray(list)) throw invalidParams('Invalid params: signatures must be an array');
    if (list.length > MAX_SIGNATURE_STATUSES)
      throw invalidParams(`Too many inputs provided; max ${MAX_SIGNATURE_STATUSES}`);
    const sigs = list.map(signatureParam);
    const config = configAt(p, 1);
    const searchTransactionHistory = boolOption(config, 'searchTransactionHistory', false);
    const slot = ctx.chain.slotFor('processed', ctx.lag);
    return withContext(
      slot,
      sigs.map((s) => ctx.chain.signatureStatus(s, { searchTransactionHistory, lag: ctx.lag })),
    );
  },

  getSignaturesForAddress: (p, ctx) => {
    const address = encodeBase58(pubkeyParam(required(p, 0, 'address')));
    const config = configAt(p, 1);
    const commitment = commitmentOf(config);
    if (commitment === 'processed') throw invalidParams('Method does not support commitment below `confirmed`');
    const maxSlot = slotFor(ctx, config);
    const limit = config['limit'] === undefined || config['limit'] === null ? 1000 : u64Param(config['limit'], 'limit');
    if (limit < 1 || limit > 1000) throw invalidParams('Invalid limit; max 1000');
    const before = config['before'] ? signatureParam(config['before']) : undefined;
    const until = config['until'] ? signatureParam(config['until']) : undefined;
    let list = ctx.chain.signaturesForAddress(address, maxSlot);
    if (before) {
      const i = list.findIndex((r) => r.signature === before);
      list = i >= 0 ? list.slice(i + 1) : list;
    }
    if (until) {
      const i = list.findIndex((r) => r.signature === until);
      if (i >= 0) list = list.slice(0, i);
    }
    return list.slice(0, limit).map((r) => ({
      signature: r.signature,
      slot: r.slot,
      err: r.err,
      memo: null,
      blockTime: r.blockTime,
      confirmationStatus: statusOf(r, ctx.chain, ctx.lag),
    }));
  },

  getTransaction: (p, ctx) => {
    const signature = signatureParam(required(p, 0, 'signature'));
    const config = typeof p[1] === 'string' ? { encoding: p[1] } : configAt(p, 1);
    const encoding = stringOption(config, 'encoding', ['json', 'jsonParsed', 'base58', 'base64'] as const, 'json');
    const commitment = commitmentOf(config);
    if (commitment === 'processed') throw invalidParams('Method does not support commitment below `confirmed`');
    const rec = ctx.chain.reached(signature, commitment, ctx.lag);
    // Airdrops are built inside the SVM; their wire bytes are not available to answer with.
    if (!rec?.bytes) return null;
    const maxVersion = config['maxSupportedTransactionVersion'];
    if (rec.version === 0 && (maxVersion === undefined || maxVersion === null)) {
      throw rpcError(
        -32015,
        'Transaction version (0) is not supported by the requesting client. Please try the request again with the following configuration parameter: "maxSupportedTransactionVersion": 0',
      );
    }
    const out: Record<string, unknown> = {
      slot: rec.slot,
      blockTime: rec.blockTime,
      meta: {
        err: rec.err,
        status: rec.err === null ? { Ok: null } : { Err: rec.err },
        fee: rec.fee,
        preBalances: rec.preBalances,
        postBalances: rec.postBalances,
        innerInstructions: [],
        logMessages: rec.logs,
        preTokenBalances: [],
        postTokenBalances: [],
        rewards: [],
        loadedAddresses: { writable: [], readonly: [] },
        computeUnitsConsumed: rec.unitsConsumed,
      },
      transaction: transactionJson(rec as TxRecord & { bytes: Uint8Array }, encoding),
    };
    if (maxVersion !== undefined && maxVersion !== null) out['version'] = rec.version;
    return out;
  },
};
