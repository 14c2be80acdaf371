import { PalisadeError, withoutStack } from '../errors.ts';

/** A misuse of the local cluster's API (unknown provider, malformed fault, closed cluster). */
export class DevnetError extends PalisadeError {}

/**
 * A JSON-RPC error answer (`{ code, message, data? }`) raised inside a method handler. It is an
 * expected outcome on the request path (bad params, a failing preflight), so it is built without
 * a stack trace.
 */
export class JsonRpcError extends PalisadeError {
  readonly rpcCode: number;
  readonly data: unknown;
  constructor(rpcCode: number, message: string, data?: unknown) {
    super('DEVNET_JSONRPC_ERROR', message);
    this.rpcCode = rpcCode;
    this.data = data;
  }

  toJSON(): { code: number; message: string; data?: unknown } {
    return this.data === undefined
      ? { code: this.rpcCode, message: this.message }
      : { code: this.rpcCode, message: this.message, data: this.data };
  }
}

/** The JSON-RPC error codes a Solana node answers with, by name. */
export const RPC_CODES = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  blockCleanedUp: -32001,
  sendTransactionPreflightFailure: -32002,
  transactionSignatureVerificationFailure: -32003,
  nodeUnhealthy: -32005,
  transactionPrecompileVerificationFailure: -32006,
  minContextSlotNotReached: -32016,
} as const;

export function rpcError(code: number, message: string, data?: unknown): JsonRpcError {
  return withoutStack(() => new JsonRpcError(code, message, data));
}

export function invalidParams(message: string): JsonRpcError {
  return rpcError(RPC_CODES.invalidParams, message);
}
