/**
 * A real @solana/web3.js v1 Connection (HTTP + wsEndpoint) against the local cluster: its
 * superstruct response checks are the judge of every shape used here.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  Connection,
  Keypair,
  LAMPORTS_PER_SOL,
  SendTransactionError,
  SystemProgram,
  Transaction,
  TransactionExpiredBlockheightExceededError,
  TransactionMessage,
  VersionedTransaction,
  sendAndConfirmTransaction,
} from '@solana/web3.js';
import { startLocalCluster, type LocalCluster } from '../src/devnet/index.ts';
import { waitFor } from './devnet.helpers.ts';

describe('devnet through a real web3.js Connection', { timeout: 60_000 }, () => {
  let cluster: LocalCluster;
  let conn: Connection;
  const alice = Keypair.generate();
  const bob = Keypair.generate();

  before(async () => {
    cluster = await startLocalCluster({ slotMs: 10 });
    const e = cluster.endpoints[1]!;
    conn = new Connection(e.url, { commitment: 'confirmed', wsEndpoint: e.wsUrl, disableRetryOnRateLimit: true });
  });
  after(() => cluster.close());

  it('getVersion, getSlot, getBlockHeight, getEpochInfo, getGenesisHash', async () => {
    const v = await conn.getVersion();
    assert.equal(typeof v['solana-core'], 'string');
    const slot = await conn.getSlot('processed');
    assert.ok(slot >= cluster.chain.startSlot);
    assert.ok((await conn.getBlockHeight('processed')) < slot);
    const epoch = await conn.getEpochInfo();
    assert.equal(epoch.slotsInEpoch, 432_000);
    assert.equal(typeof (await conn.getGenesisHash()), 'string');
    assert.equal(typeof (await conn.getMinimumBalanceForRentExemption(0)), 'number');
    const fees = await conn.getRecentPrioritizationFees();
    assert.ok(Array.isArray(fees));
  });

  it('requestAirdrop, then confirmTransaction over the WebSocket, then getBalance', async () => {
    assert.equal(await conn.getBalance(alice.publicKey), 0);
    const sig = await conn.requestAirdrop(alice.publicKey, 3 * LAMPORTS_PER_SOL);
    const latest = await conn.getLatestBlockhash();
    const confirmed = await conn.confirmTransaction({ signature: sig, ...latest }, 'confirmed');
    assert.equal(confirmed.value.err, null);
    assert.equal(await conn.getBalance(alice.publicKey), 3 * LAMPORTS_PER_SOL);
    const info = await conn.getAccountInfo(alice.publicKey);
    assert.equal(info?.lamports, 3 * LAMPORTS_PER_SOL);
    assert.ok(info?.owner.equals(SystemProgram.programId));
    assert.equal(await conn.getAccountInfo(Keypair.generate().publicKey), null);
    const many = await conn.getMultipleAccountsInfo([alice.publicKey, bob.publicKey]);
    assert.equal(many[0]?.lamports, 3 * LAMPORTS_PER_SOL);
    assert.equal(many[1], null);
  });

  it('sendAndConfirmTransaction moves SOL and charges exactly the quoted fee', async () => {
    const tx = new Transaction().add(
      SystemProgram.transfer({ fromPubkey: alice.publicKey, toPubkey: bob.publicKey, lamports: LAMPORTS_PER_SOL / 2 }),
    );
    const before = await conn.getBalance(alice.publicKey);
    const sig = await sendAndConfirmTransaction(conn, tx, [alice], { commitment: 'confirmed' });
    const fee = await conn.getFeeForMessage(tx.compileMessage(), 'confirmed');
    assert.equal(fee.value, 5000);
    assert.equal(await conn.getBalance(bob.publicKey), LAMPORTS_PER_SOL / 2);
    assert.equal(await conn.getBalance(alice.publicKey), before - LAMPORTS_PER_SOL / 2 - 5000);
    const status = await conn.getSignatureStatus(sig);
    assert.ok(status.value && status.value.err === null);
    const landed = await conn.getTransaction(sig, { commitment: 'confirmed', maxSupportedTransactionVersion: 0 });
    assert.equal(landed?.meta?.fee, 5000);
    assert.equal(landed?.transaction.signatures[0], sig);
    const history = await conn.getSignaturesForAddress(bob.publicKey);
    assert.equal(history[0]?.signature, sig);
  });

  it('sendRawTransaction + confirmTransaction(finalized); statuses go processed → confirmed → finalized', async () => {
    const latest = await conn.getLatestBlockhash('processed');
    const msg = new TransactionMessage({
      payerKey: alice.publicKey,
      recentBlockhash: latest.blockhash,
      instructions: [
        SystemProgram.transfer({ fromPubkey: alice.publicKey, toPubkey: bob.publicKey, lamports: 1_000_000 }),
      ],
    }).compileToV0Message();
    const tx = new VersionedTransaction(msg);
    tx.sign([alice]);
    const sig = await conn.sendRawTransaction(tx.serialize(), { preflightCommitment: 'processed' });
    const seen = new Set<string>();
    const watch = (async () => {
      for (;;) {
        const s = (await conn.getSignatureStatus(sig)).value?.confirmationStatus;
        if (s) seen.add(s);
        if (s === 'finalized') return;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const res = await conn.confirmTransaction({ signature: sig, ...latest }, 'finalized');
    assert.equal(res.value.err, null);
    await watch;
    assert.ok(seen.has('finalized'));
    assert.ok(seen.has('confirmed') || seen.has('processed'), `saw ${[...seen].join(',')}`);
  });

  it('a transfer beyond the balance is refused by preflight with the program logs, and costs nothing', async () => {
    const before = await conn.getBalance(alice.publicKey);
    const tx = new Transaction().add(
      SystemProgram.transfer({
        fromPubkey: alice.publicKey,
        toPubkey: bob.publicKey,
        lamports: 100 * LAMPORTS_PER_SOL,
      }),
    );
    await assert.rejects(sendAndConfirmTransaction(conn, tx, [alice]), (err: unknown) => {
      assert.ok(err instanceof SendTransactionError);
      assert.match(err.message, /custom program error: 0x1/);
      assert.ok(err.logs?.some((l) => l.includes('insufficient lamports')));
      return true;
    });
    assert.equal(await conn.getBalance(alice.publicKey), before);
  });

  it('with skipPreflight the failing transfer lands with its error and pays the fee', async () => {
    const before = await conn.getBalance(alice.publicKey);
    const latest = await conn.getLatestBlockhash('processed');
    const tx = new Transaction({ feePayer: alice.publicKey, ...latest }).add(
      SystemProgram.transfer({
        fromPubkey: alice.publicKey,
        toPubkey: bob.publicKey,
        lamports: 100 * LAMPORTS_PER_SOL,
      }),
    );
    tx.sign(alice);
    const sig = await conn.sendRawTransaction(tx.serialize(), { skipPreflight: true });
    // web3.js resolves with value.err when the WebSocket notification wins, and rejects with the
    // bare error when its own getSignatureStatus check sees the status first: accept both.
    const err = await conn.confirmTransaction({ signature: sig, ...latest }, 'confirmed').then(
      (res) => res.value.err,
      (e: unknown) => e,
    );
    assert.deepEqual(err, { InstructionError: [0, { Custom: 1 }] });
    assert.deepEqual((await conn.getSignatureStatus(sig)).value?.err, { InstructionError: [0, { Custom: 1 }] });
    assert.equal(await conn.getBalance(alice.publicKey), before - 5000);
  });

  it('a bad signature is refused (-32003) and an unfunded payer (AccountNotFound)', async () => {
    const latest = await conn.getLatestBlockhash('processed');
    const tx = new Transaction({ feePayer: alice.publicKey, ...latest }).add(
      SystemProgram.transfer({ fromPubkey: alice.publicKey, toPubkey: bob.publicKey, lamports: 1000 }),
    );
    tx.sign(alice);
    const wire = tx.serialize();
    wire[1] = (wire[1] ?? 0) ^ 0x01;
    await assert.rejects(conn.sendRawTransaction(wire), (err: unknown) => {
      assert.ok(err instanceof SendTransactionError);
      assert.match(err.message, /Transaction signature verification failure/);
      return true;
    });
    const nobody = Keypair.generate();
    const t2 = new Transaction().add(
      SystemProgram.transfer({ fromPubkey: nobody.publicKey, toPubkey: bob.publicKey, lamports: 1000 }),
    );
    await assert.rejects(sendAndConfirmTransaction(conn, t2, [nobody]), /no record of a prior credit/);
  });

  it('simulateTransaction, getEpochSchedule, getTransactionCount, getParsedAccountInfo, onSlotChange', async () => {
    const latest = await conn.getLatestBlockhash('processed');
    const msg = new TransactionMessage({
      payerKey: alice.publicKey,
      recentBlockhash: latest.blockhash,
      instructions: [
        SystemProgram.transfer({ fromPubkey: alice.publicKey, toPubkey: bob.publicKey, lamports: 5_000_000 }),
      ],
    }).compileToV0Message();
    const tx = new VersionedTransaction(msg);
    const sim = await conn.simulateTransaction(tx, {
      sigVerify: false,
      accounts: { encoding: 'base64', addresses: [bob.publicKey.toBase58()] },
    });
    assert.equal(sim.value.err, null);
    assert.ok(sim.value.logs && sim.value.logs.length > 0);
    assert.equal(sim.value.accounts?.[0]?.lamports, (await conn.getBalance(bob.publicKey)) + 5_000_000);
    const legacy = new Transaction().add(
      SystemProgram.transfer({ fromPubkey: alice.publicKey, toPubkey: bob.publicKey, lamports: 1 }),
    );
    const legacySim = await conn.simulateTransaction(legacy, [alice]);
    assert.equal(legacySim.value.err, null, 'web3.js signs with its cached blockhash, which must still be valid');

    const schedule = await conn.getEpochSchedule();
    assert.equal(schedule.slotsPerEpoch, 432_000);
    assert.ok((await conn.getTransactionCount()) > 0);
    const parsed = await conn.getParsedAccountInfo(alice.publicKey);
    assert.ok(Buffer.isBuffer(parsed.value?.data), 'jsonParsed falls back to base64 for system accounts');

    const slots: number[] = [];
    const id = conn.onSlotChange((info) => slots.push(info.slot));
    await waitFor(() => (slots.length >= 3 ? true : undefined), 5000, 'three slot notifications');
    await conn.removeSlotChangeListener(id);
    assert.ok(slots[1]! > slots[0]! && slots[2]! > slots[1]!, `slots ${slots.join(',')}`);
  });

  it('the same Connection fails over to another port of the same chain', async () => {
    const other = new Connection(cluster.endpoints[2]!.url, 'confirmed');
    const sig = await conn.requestAirdrop(bob.publicKey, LAMPORTS_PER_SOL);
    await waitFor(
      async () => ((await other.getSignatureStatus(sig)).value?.confirmationStatus === 'confirmed' ? true : undefined),
      5000,
      'status on another port',
    );
    assert.equal(await other.getBalance(bob.publicKey), await conn.getBalance(bob.publicKey));
  });

  it('a blockhash expires after blockhashMaxAge blocks: preflight refuses it, and without preflight the confirmation expires', async () => {
    const latest = await conn.getLatestBlockhash('processed');
    const tx = new Transaction({ feePayer: alice.publicKey, ...latest }).add(
      SystemProgram.transfer({ fromPubkey: alice.publicKey, toPubkey: bob.publicKey, lamports: 4242 }),
    );
    tx.sign(alice);
    const dropsBefore = cluster.getStats().chain.dropped['BlockhashNotFound'] ?? 0;
    assert.equal((await conn.isBlockhashValid(latest.blockhash, { commitment: 'processed' })).value, true);
    cluster.chain.advanceSlots(cluster.chain.blockhashMaxAge + 1);
    assert.equal((await conn.isBlockhashValid(latest.blockhash, { commitment: 'processed' })).value, false);
    await assert.rejects(conn.sendRawTransaction(tx.serialize()), /Blockhash not found/);
    const sig = await conn.sendRawTransaction(tx.serialize(), { skipPreflight: true });
    await assert.rejects(
      conn.confirmTransaction({ signature: sig, ...latest }, 'confirmed'),
      TransactionExpiredBlockheightExceededError,
    );
    assert.equal(
      cluster.getStats().chain.dropped['BlockhashNotFound'],
      dropsBefore + 1,
      'the dropped transaction is counted',
    );
    assert.equal((await conn.getSignatureStatus(sig, { searchTransactionHistory: true })).value, null);
  });
});
