/**
 * The local cluster is the judge: a transfer signed off-thread is accepted and confirmed, and
 * the same transfer with one signature bit flipped is refused (-32003), so acceptance means the
 * signature was checked, not ignored (preflight verifies signatures, as the demo sends with it).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Connection, Keypair, LAMPORTS_PER_SOL, SystemProgram, Transaction } from '@solana/web3.js';
import { startLocalCluster, type LocalCluster } from '../src/devnet/index.ts';
import { OffThreadSigner, SigningKey, signMessageToWire } from '../src/signing/index.ts';
import { base58, rpc } from './devnet.helpers.ts';

describe('signing: off-thread transfers on the local cluster', { timeout: 60_000 }, () => {
  let cluster: LocalCluster;
  let conn: Connection;
  let signer: OffThreadSigner;
  const payer = Keypair.generate();
  const to = Keypair.generate().publicKey;

  before(async () => {
    cluster = await startLocalCluster({ slotMs: 10 });
    const e = cluster.endpoints[0]!;
    conn = new Connection(e.url, { commitment: 'confirmed', wsEndpoint: e.wsUrl, disableRetryOnRateLimit: true });
    signer = new OffThreadSigner({ minThreads: 1, maxThreads: 1 });
    await signer.ready();
    const sig = await conn.requestAirdrop(payer.publicKey, 2 * LAMPORTS_PER_SOL);
    const latest = await conn.getLatestBlockhash();
    const res = await conn.confirmTransaction(
      { signature: sig, ...latest, abortSignal: AbortSignal.timeout(10_000) },
      'confirmed',
    );
    assert.equal(res.value.err, null);
  });
  after(async () => {
    await signer.close();
    await cluster.close();
  });

  async function transferMessage(
    lamports: number,
  ): Promise<{ message: Uint8Array; latest: { blockhash: string; lastValidBlockHeight: number } }> {
    const latest = await conn.getLatestBlockhash('confirmed');
    const tx = new Transaction({ feePayer: payer.publicKey, ...latest }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: to, lamports }),
    );
    return { message: tx.compileMessage().serialize(), latest };
  }

  it('a transfer signed off-thread is accepted and confirmed, and moves the lamports', async () => {
    const key = SigningKey.fromSecretKey(payer.secretKey);
    const { message, latest } = await transferMessage(1_234_567);
    const { wire, signature } = await signMessageToWire(signer, message, [key]);
    const sent = await conn.sendRawTransaction(wire, { skipPreflight: false, maxRetries: 0 });
    assert.equal(sent, base58(signature), 'the cluster names the transaction by our signature');
    const res = await conn.confirmTransaction(
      { signature: sent, ...latest, abortSignal: AbortSignal.timeout(10_000) },
      'confirmed',
    );
    assert.equal(res.value.err, null);
    assert.equal(await conn.getBalance(to, 'confirmed'), 1_234_567);
  });

  it('the same transfer with a flipped signature bit is refused with -32003', async () => {
    const { message } = await transferMessage(7_654_321);
    const { wire } = await signMessageToWire(signer, message, [SigningKey.fromSecretKey(payer.secretKey)]);
    const bad = Buffer.from(wire);
    bad[1] = bad[1]! ^ 0x01; // first byte of the first signature (after the 1-byte count)
    const reply = await rpc(cluster.endpoints[0]!.url, 'sendTransaction', [
      bad.toString('base64'),
      { encoding: 'base64' },
    ]);
    assert.equal(reply.error?.code, -32003, `expected a signature failure, got ${JSON.stringify(reply)}`);
    const good = await rpc(cluster.endpoints[0]!.url, 'sendTransaction', [
      wire.toString('base64'),
      { encoding: 'base64' },
    ]);
    assert.equal(good.error, undefined, `the untampered one is accepted: ${JSON.stringify(good)}`);
  });
});
