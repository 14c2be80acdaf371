/**
 * Decoding of wire transactions at the RPC boundary. litesvm aborts the whole process on bytes
 * it cannot parse (a Rust panic, not an exception), so every transaction is parsed and checked
 * here first and only canonical bytes ever reach the SVM.
 */
import { VersionedTransaction, VersionedMessage } from '@solana/web3.js';
import { decodeBase58, encodeBase58 } from '../encoding/base58.ts';
import { invalidParams } from './errors.ts';

/** Solana's packet size: the largest serialized transaction a node accepts. */
export const MAX_TX_BYTES = 1232;
const MAX_BASE64_CHARS = 1644;
const MAX_BASE58_CHARS = 1683;
const COMPUTE_BUDGET_PROGRAM = 'ComputeBudget111111111111111111111111111111';
const MAX_COMPUTE_UNIT_LIMIT = 1_400_000;
const DEFAULT_UNITS_PER_INSTRUCTION = 200_000;
export const LAMPORTS_PER_SIGNATURE = 5000;

export type WireEncoding = 'base58' | 'base64';

export interface DecodedMessage {
  recentBlockhash: string;
  /** Static account keys in message order (fee payer first). */
  accountKeys: string[];
  numRequiredSignatures: number;
  version: 'legacy' | 0;
  /** SetComputeUnitPrice, micro-lamports per compute unit (0 when absent). */
  computeUnitPrice: bigint;
  /** SetComputeUnitLimit, or the runtime default for the instruction count. */
  computeUnitLimit: number;
  message: VersionedMessage;
}

export interface DecodedTransaction extends DecodedMessage {
  /** Canonical serialized bytes (what the SVM is given). */
  bytes: Uint8Array;
  /** The first signature, base58: the transaction id. */
  signature: string;
  signatureBytes: Uint8Array;
}

export function decodeWire(text: unknown, encoding: WireEncoding, what: string): Uint8Array {
  if (typeof text !== 'string') throw invalidParams(`Invalid params: ${what} must be a string`);
  if (encoding === 'base64') {
    if (text.length > MAX_BASE64_CHARS) {
      throw invalidParams(
        `base64 encoded ${what} too large: ${text.length} bytes (max: encoded/raw ${MAX_BASE64_CHARS}/${MAX_TX_BYTES})`,
      );
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0)
      throw invalidParams(`invalid base64 encoding: ${what}`);
    return new Uint8Array(Buffer.from(text, 'base64'));
  }
  if (text.length > MAX_BASE58_CHARS) {
    throw invalidParams(
      `base58 encoded ${what} too large: ${text.length} bytes (max: encoded/raw ${MAX_BASE58_CHARS}/${MAX_TX_BYTES})`,
    );
  }
  const bytes = decodeBase58(text);
  if (!bytes) throw invalidParams(`invalid base58 encoding: ${what}`);
  return bytes;
}

export function decodeTransaction(text: unknown, encoding: WireEncoding): DecodedTransaction {
  const what = 'solana_sdk::transaction::versioned::VersionedTransaction';
  const raw = decodeWire(text, encoding, what);
  if (raw.length > MAX_TX_BYTES) {
    throw invalidParams(
      `${encoding} encoded ${what} too large: ${raw.length} bytes (max: encoded/raw ${encoding === 'base64' ? MAX_BASE64_CHARS : MAX_BASE58_CHARS}/${MAX_TX_BYTES})`,
    );
  }
  let tx: VersionedTransaction;
  try {
    tx = VersionedTransaction.deserialize(raw);
  } catch (err) {
    throw invalidParams(`failed to deserialize ${what}: ${(err as Error).message}`);
  }
  const info = inspectMessage(tx.message);
  const first = tx.signatures[0];
  if (first?.length !== 64) throw invalidParams(`invalid transaction: ${what} has no signature`);
  let bytes: Uint8Array;
  try {
    bytes = tx.serialize();
  } catch (err) {
    throw invalidParams(`failed to deserialize ${what}: ${(err as Error).message}`);
  }
  return { ...info, bytes, signature: encodeBase58(first), signatureBytes: first };
}

export function decodeMessage(text: unknown): DecodedMessage {
  const raw = decodeWire(text, 'base64', 'solana_sdk::message::VersionedMessage');
  let message: VersionedMessage;
  try {
    message = VersionedMessage.deserialize(raw);
  } catch (err) {
    throw invalidParams(`failed to deserialize solana_sdk::message::VersionedMessage: ${(err as Error).message}`);
  }
  return inspectMessage(message);
}

/**
 * Reads what the cluster needs from a message and rejects out-of-range account references:
 * web3.js's decoder accepts them and the SVM must never see them.
 */
function inspectMessage(message: VersionedMessage): DecodedMessage {
  const version = message.version;
  // Version 1 messages (SIMD-0385) are newer than the SVM behind this cluster.
  if (version !== 'legacy' && version !== 0)
    throw invalidParams(`invalid transaction: unsupported transaction version ${version}`);
  const accountKeys = message.staticAccountKeys.map((k) => k.toBase58());
  let lookupCount = 0;
  for (const l of message.addressTableLookups) lookupCount += l.writableIndexes.length + l.readonlyIndexes.length;
  const totalKeys = accountKeys.length + lookupCount;
  let unitPrice = 0n;
  let unitLimit: number | undefined;
  let otherInstructions = 0;
  for (const ix of message.compiledInstructions) {
    if (ix.programIdIndex >= accountKeys.length || ix.accountKeyIndexes.some((i) => i >= totalKeys)) {
      throw invalidParams('invalid transaction: Transaction failed to sanitize accounts offsets correctly');
    }
    if (accountKeys[ix.programIdIndex] !== COMPUTE_BUDGET_PROGRAM) {
      otherInstructions++;
      continue;
    }
    const data = Buffer.from(ix.data);
    if (data[0] === 2 && data.length >= 5) unitLimit = data.readUInt32LE(1);
    else if (data[0] === 3 && data.length >= 9) unitPrice = data.readBigUInt64LE(1);
  }
  const computeUnitLimit = Math.min(
    MAX_COMPUTE_UNIT_LIMIT,
    unitLimit ?? DEFAULT_UNITS_PER_INSTRUCTION * otherInstructions,
  );
  return {
    recentBlockhash: message.recentBlockhash,
    accountKeys,
    numRequiredSignatures: message.header.numRequiredSignatures,
    version,
    computeUnitPrice: unitPrice,
    computeUnitLimit,
    message,
  };
}

/** The prioritization fee in lamports: ceil(price × limit / 1e6), as the runtime charges it. */
export function prioritizationFee(m: Pick<DecodedMessage, 'computeUnitPrice' | 'computeUnitLimit'>): number {
  const micro = m.computeUnitPrice * BigInt(m.computeUnitLimit);
  return Number((micro + 999_999n) / 1_000_000n);
}

export function transactionFee(m: DecodedMessage): number {
  return m.numRequiredSignatures * LAMPORTS_PER_SIGNATURE + prioritizationFee(m);
}
