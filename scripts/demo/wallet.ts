/**
 * The demo's wallet: a fresh one funded by airdrop on the local cluster, a funded key from
 * PALISADE_DEMO_KEYPAIR against real providers (self-transfers only), or none. Transfers are
 * signed on a piscina worker, never on the host thread (it runs the bus router and the inline
 * subscribers); the signer starts only when there is a wallet to sign for.
 */
import { Keypair } from '@solana/web3.js';
import type { PoolConnection } from '../../src/rpc/index.ts';
import { OffThreadSigner } from '../../src/signing/index.ts';
import { withDeadline } from '../../test/support/wait.ts';
import type { DemoContext } from './context.ts';
import { SolTransferSender, loadKeypairFile, type SolTransferOptions } from './transfers.ts';

export interface DemoWallet {
  /** Sends the executor's transfers; null when there is no key to sign with. */
  sender: SolTransferSender | null;
  /** How the report names the wallet. */
  wallet: string;
  walletNote?: string;
  /** A cap on transfers (real mode), or none. */
  maxTransfers?: number;
}

export async function openWallet(
  ctx: DemoContext,
  conn: PoolConnection,
  landing?: SolTransferOptions['landing'],
): Promise<DemoWallet> {
  const { o, clock, logger, closer, say } = ctx;
  const startSigner = async (): Promise<OffThreadSigner> => {
    const s = new OffThreadSigner({ minThreads: 1, maxThreads: 1, logger });
    closer.add('signer', () => s.close({ drainMs: 1000 }));
    await withDeadline(s.ready(), 30_000, 'the signing worker start-up');
    return s;
  };
  if (o.real) {
    const path = process.env['PALISADE_DEMO_KEYPAIR'];
    if (path) {
      const sender = new SolTransferSender(conn, loadKeypairFile(path), await startSigner(), clock, {
        selfTransfer: true,
        ...(landing ? { landing } : {}),
      });
      const wallet = `real key ${sender.payer.publicKey.toBase58().slice(0, 8)}…`;
      const walletNote = 'real mode: at most 3 self-transfers (payer to payer: only fees are spent)';
      say(`  wallet: ${wallet} (${walletNote})`);
      return { sender, wallet, walletNote, maxTransfers: 3 };
    }
    const walletNote = '--real without PALISADE_DEMO_KEYPAIR: no funded key, so no transfers are sent';
    say(`  wallet: none — ${walletNote}`);
    return { sender: null, wallet: 'none', walletNote };
  }
  say('funding a fresh wallet by airdrop (through the pool) ...');
  const sender = new SolTransferSender(
    conn,
    Keypair.generate(),
    await startSigner(),
    clock,
    landing ? { landing } : {},
  );
  await withDeadline(sender.fundByAirdrop(1000, 20_000), 25_000, 'the airdrop');
  const wallet = `local wallet ${sender.payer.publicKey.toBase58().slice(0, 8)}…`;
  say(`  ${wallet} funded with ${(await sender.balanceSol()).toFixed(0)} SOL`);
  return { sender, wallet };
}
