/**
 * The one place `src/` learns where palisade's own worker entry points live. They sit in
 * `actors/` beside the host side (the user's layout), so every host module that starts a worker
 * asks here instead of writing its own relative link into `actors/`; moving an entry is one edit.
 */
const ACTORS_DIR = new URL('../../actors/', import.meta.url);

const ENTRIES = {
  /** The generic actor host that loads a user's handler module (`Supervisor`). */
  host: 'host.ts',
  /** One RPC endpoint's client, breaker and health probe (`RpcConnectionPool`). */
  endpoint: 'endpoint.ts',
  /** The off-thread transaction signer (`OffThreadSigner`). */
  signer: 'signer.ts',
  /** The local Solana cluster in its own thread (`startLocalClusterInWorker`). */
  'devnet-cluster': 'devnet-cluster.ts',
  /** A chain source: a resilient logs or slot subscription publishing into the bus (`ChainSource`). */
  'chain-source': 'sources/chain-source.ts',
} as const;

export type WorkerEntryName = keyof typeof ENTRIES;

/** The module URL of palisade's worker entry `name`. */
export function workerEntry(name: WorkerEntryName): URL {
  return new URL(ENTRIES[name], ACTORS_DIR);
}
