/**
 * Turns litesvm's transaction errors into what a Solana node puts on the wire: the JSON form of
 * `TransactionError` (`"BlockhashNotFound"`, `{ "InstructionError": [0, { "Custom": 1 }] }`) and
 * the Display text used in preflight failure messages.
 */
import {
  type FailedTransactionMetadata,
  InstructionErrorBorshIo,
  InstructionErrorCustom,
  TransactionErrorDuplicateInstruction,
  TransactionErrorInstructionError,
  TransactionErrorInsufficientFundsForRent,
  TransactionErrorProgramExecutionTemporarilyRestricted,
} from 'litesvm/dist/internal.js';

// Orders follow litesvm's `const enum` declarations (not importable under isolatedModules).
const TX_FIELDLESS = [
  'AccountInUse',
  'AccountLoadedTwice',
  'AccountNotFound',
  'ProgramAccountNotFound',
  'InsufficientFundsForFee',
  'InvalidAccountForFee',
  'AlreadyProcessed',
  'BlockhashNotFound',
  'CallChainTooDeep',
  'MissingSignatureForFee',
  'InvalidAccountIndex',
  'SignatureFailure',
  'InvalidProgramForExecution',
  'SanitizeFailure',
  'ClusterMaintenance',
  'AccountBorrowOutstanding',
  'WouldExceedMaxBlockCostLimit',
  'UnsupportedVersion',
  'InvalidWritableAccount',
  'WouldExceedMaxAccountCostLimit',
  'WouldExceedAccountDataBlockLimit',
  'TooManyAccountLocks',
  'AddressLookupTableNotFound',
  'InvalidAddressLookupTableOwner',
  'InvalidAddressLookupTableData',
  'InvalidAddressLookupTableIndex',
  'InvalidRentPayingAccount',
  'WouldExceedMaxVoteCostLimit',
  'WouldExceedAccountDataTotalLimit',
  'MaxLoadedAccountsDataSizeExceeded',
  'ResanitizationNeeded',
  'InvalidLoadedAccountsDataSizeLimit',
  'UnbalancedTransaction',
  'ProgramCacheHitMaxLimit',
  'CommitCancelled',
] as const;

const IX_FIELDLESS = [
  'GenericError',
  'InvalidArgument',
  'InvalidInstructionData',
  'InvalidAccountData',
  'AccountDataTooSmall',
  'InsufficientFunds',
  'IncorrectProgramId',
  'MissingRequiredSignature',
  'AccountAlreadyInitialized',
  'UninitializedAccount',
  'UnbalancedInstruction',
  'ModifiedProgramId',
  'ExternalAccountLamportSpend',
  'ExternalAccountDataModified',
  'ReadonlyLamportChange',
  'ReadonlyDataModified',
  'DuplicateAccountIndex',
  'ExecutableModified',
  'RentEpochModified',
  'NotEnoughAccountKeys',
  'AccountDataSizeChanged',
  'AccountNotExecutable',
  'AccountBorrowFailed',
  'AccountBorrowOutstanding',
  'DuplicateAccountOutOfSync',
  'InvalidError',
  'ExecutableDataModified',
  'ExecutableLamportChange',
  'ExecutableAccountNotRentExempt',
  'UnsupportedProgramId',
  'CallDepth',
  'MissingAccount',
  'ReentrancyNotAllowed',
  'MaxSeedLengthExceeded',
  'InvalidSeeds',
  'InvalidRealloc',
  'ComputationalBudgetExceeded',
  'PrivilegeEscalation',
  'ProgramEnvironmentSetupFailure',
  'ProgramFailedToComplete',
  'ProgramFailedToCompile',
  'Immutable',
  'IncorrectAuthority',
  'AccountNotRentExempt',
  'InvalidAccountOwner',
  'ArithmeticOverflow',
  'UnsupportedSysvar',
  'IllegalOwner',
  'MaxAccountsDataAllocationsExceeded',
  'MaxAccountsExceeded',
  'MaxInstructionTraceLengthExceeded',
  'BuiltinProgramsMustConsumeComputeUnits',
  'BorshIoError',
] as const;

/** The Display text Solana prints for the transaction errors a client meets most. */
const TX_TEXT: Record<string, string> = {
  AccountInUse: 'Account in use',
  AccountLoadedTwice: 'Account loaded twice',
  AccountNotFound: 'Attempt to debit an account but found no record of a prior credit.',
  ProgramAccountNotFound: 'Attempt to load a program that does not exist',
  InsufficientFundsForFee: 'Insufficient funds for fee',
  InvalidAccountForFee: 'This account may not be used to pay transaction fees',
  AlreadyProcessed: 'This transaction has already been processed',
  BlockhashNotFound: 'Blockhash not found',
  MissingSignatureForFee: 'Transaction requires a fee but has no signature present',
  InvalidAccountIndex: 'Transaction contains an invalid account reference',
  SignatureFailure: 'Transaction did not pass signature verification',
  SanitizeFailure: 'Transaction failed to sanitize accounts offsets correctly',
};

const IX_TEXT: Record<string, string> = {
  GenericError: 'generic instruction error',
  InsufficientFunds: 'insufficient funds for instruction',
  MissingRequiredSignature: 'missing required signature for instruction',
  AccountAlreadyInitialized: 'instruction requires an uninitialized account',
  InvalidAccountData: 'invalid account data for instruction',
  InvalidInstructionData: 'invalid instruction data',
  ComputationalBudgetExceeded: 'Computational budget exceeded',
};

export type TransactionErrorJson = string | Record<string, unknown>;

export interface DescribedError {
  json: TransactionErrorJson;
  text: string;
  /** The variant name (`"InstructionError"`, `"BlockhashNotFound"`), for counters and branching. */
  name: string;
}

function words(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
}

function describeInstructionError(e: ReturnType<TransactionErrorInstructionError['err']>): {
  json: unknown;
  text: string;
} {
  if (typeof e === 'number') {
    const name = IX_FIELDLESS[e] ?? `InstructionError${e}`;
    return { json: name, text: IX_TEXT[name] ?? words(name) };
  }
  if (e instanceof InstructionErrorCustom) {
    return { json: { Custom: e.code }, text: `custom program error: 0x${e.code.toString(16)}` };
  }
  if (e instanceof InstructionErrorBorshIo)
    return { json: { BorshIoError: e.msg }, text: `Failed to serialize or deserialize account data: ${e.msg}` };
  return { json: 'GenericError', text: 'generic instruction error' };
}

export function describeTransactionError(failed: FailedTransactionMetadata): DescribedError {
  const e = failed.err();
  if (typeof e === 'number') {
    const name = TX_FIELDLESS[e] ?? `TransactionError${e}`;
    return { json: name, text: TX_TEXT[name] ?? words(name), name };
  }
  if (e instanceof TransactionErrorInstructionError) {
    const inner = describeInstructionError(e.err());
    return {
      json: { InstructionError: [e.index, inner.json] },
      text: `Error processing Instruction ${e.index}: ${inner.text}`,
      name: 'InstructionError',
    };
  }
  if (e instanceof TransactionErrorDuplicateInstruction) {
    return {
      json: { DuplicateInstruction: e.index },
      text: `Transaction contains a duplicate instruction (${e.index}) that is not allowed`,
      name: 'DuplicateInstruction',
    };
  }
  if (e instanceof TransactionErrorInsufficientFundsForRent) {
    return {
      json: { InsufficientFundsForRent: { account_index: e.accountIndex } },
      text: `Transaction results in an account (${e.accountIndex}) with insufficient funds for rent`,
      name: 'InsufficientFundsForRent',
    };
  }
  if (e instanceof TransactionErrorProgramExecutionTemporarilyRestricted) {
    return {
      json: { ProgramExecutionTemporarilyRestricted: { account_index: e.accountIndex } },
      text: `Execution of the program referenced by account at index ${e.accountIndex} is temporarily restricted.`,
      name: 'ProgramExecutionTemporarilyRestricted',
    };
  }
  return { json: 'SanitizeFailure', text: TX_TEXT['SanitizeFailure']!, name: 'SanitizeFailure' };
}

/** A fieldless transaction error by name, for the checks the cluster does itself. */
export function namedTransactionError(name: (typeof TX_FIELDLESS)[number]): DescribedError {
  return { json: name, text: TX_TEXT[name] ?? words(name), name };
}
