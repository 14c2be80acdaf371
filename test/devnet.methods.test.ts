/**
 * Every JSON-RPC method of the local cluster answers in the shape a Solana node uses, checked
 * over plain HTTP. Time is a ManualClock, so slots only move when the test says so.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ComputeBudgetProgram,
  Keypair,
  LAMPORTS_PER_SOL,
  SystemProgram,
  Transaction,
  TransactionMessage,
  VersionedTransaction,
} from '@solana/web3.js';
import { ManualClock } from '../src/clock.ts';
import { startLocalCluster, type LocalCluster } from '../src/devnet/index.ts';
import { base58, post, result, rpc, transferTx } from './devnet.helpers.ts';

const isBase58Of = (s: unknown, len: number): boolean => {
  if (typeof s !== 'string') return false;
  // Round-trip through the independent encoder via a known-length check.
  return /^[1-9A-HJ-NP-Za-km-z]+$/.test(s) && s.length >= len - 2 && s.length <= Math.ceil(len * 1.37) + 1;
};

describe('devnet JSON-RPC methods', { timeout: 60_000 }, () => {
  const clock = new ManualClock();
  let cluster: LocalCluster;
  let url: string;
  const payer = Keypair.generate();
  const other = Keypair.generate();

  before(async () => {
    cluster = await startLocalCluster({ providers: ['one'], slotMs: 400, clock });
    url = cluster.endpoints[0]!.url;
    await result(url, 'requestAirdrop', [payer.publicKey.toBase58(), 5 * LAMPORTS_PER_SOL]);
  });
  after(() => cluster.close());

  it('getHealth, getVersion, getGenesisHash, getIdentity', async () => {
    assert.equal(await result(url, 'getHealth'), 'ok');
    const v = await result(url, 'getVersion');
    assert.equal(typeof v['solana-core'], 'string');
    assert.equal(typeof v['feature-set'], 'number');
    assert.ok(isBase58Of(await result(url, 'getGenesisHash'), 32));
    assert.ok(isBase58Of((await result(url, 'getIdentity')).identity, 32));
  });

  it('getSlot and getBlockHeight honour commitment and move with the clock', async () => {
    const processed = await result(url, 'getSlot', [{ commitment: 'processed' }]);
    assert.equal(processed, cluster.chain.slot);
    assert.equal(
      await result(url, 'getSlot', [{ commitment: 'confirmed' }]),
      Math.max(cluster.chain.startSlot, processed - 1),
    );
    clock.advance(400 * 40);
    const now = await result(url, 'getSlot', [{ commitment: 'processed' }]);
    assert.equal(now, processed + 40);
    assert.equal(await result(url, 'getSlot', [{ commitment: 'confirmed' }]), now - 1);
    assert.equal(await result(url, 'getSlot', [{ commitment: 'finalized' }]), now - 32);
    assert.equal(await result(url, 'getSlot'), now - 32, 'a node defaults to finalized');
    const height = await result(url, 'getBlockHeight', [{ commitment: 'processed' }]);
    assert.equal(height, cluster.chain.blockHeight);
    assert.ok(height < now, 'block height trails the slot');
  });

  it('getLatestBlockhash and isBlockhashValid', async () => {
    const r = await result(url, 'getLatestBlockhash', [{ commitment: 'processed' }]);
    assert.equal(r.context.slot, cluster.chain.slot);
    assert.ok(isBase58Of(r.value.blockhash, 32));
    assert.equal(r.value.lastValidBlockHeight, cluster.chain.blockHeight + 150);
    const valid = await result(url, 'isBlockhashValid', [r.value.blockhash, { commitment: 'processed' }]);
    assert.deepEqual(valid.value, true);
    assert.equal(typeof valid.context.slot, 'number');
    const unknown = await result(url, 'isBlockhashValid', [
      Keypair.generate().publicKey.toBase58(),
      { commitment: 'processed' },
    ]);
    assert.equal(unknown.value, false);
    const fin = await result(url, 'getLatestBlockhash', [{ commitment: 'finalized' }]);
    assert.equal(fin.context.slot, cluster.chain.slot - 32);
    assert.notEqual(fin.value.blockhash, r.value.blockhash);
  });

  it('getBalance, getAccountInfo in every encoding, getMultipleAccounts', async () => {
    const key = payer.publicKey.toBase58();
    const bal = await result(url, 'getBalance', [key, { commitment: 'processed' }]);
    assert.equal(bal.value, 5 * LAMPORTS_PER_SOL);
    assert.equal(typeof bal.context.slot, 'number');
    assert.equal((await result(url, 'getBalance', [other.publicKey.toBase58()])).value, 0);

    const b64 = await result(url, 'getAccountInfo', [key, { encoding: 'base64' }]);
    assert.deepEqual(b64.value, {
      data: ['', 'base64'],
      executable: false,
      lamports: 5 * LAMPORTS_PER_SOL,
      owner: '11111111111111111111111111111111',
      rentEpoch: b64.value.rentEpoch,
      space: 0,
    });
    assert.equal(typeof b64.value.rentEpoch, 'number');
    assert.deepEqual((await result(url, 'getAccountInfo', [key, { encoding: 'base58' }])).value.data, ['', 'base58']);
    assert.deepEqual((await result(url, 'getAccountInfo', [key, { encoding: 'jsonParsed' }])).value.data, [
      '',
      'base64',
    ]);
    assert.equal(
      (await result(url, 'getAccountInfo', [key])).value.data,
      '',
      'default binary encoding is a bare base58 string',
    );
    assert.equal(
      (await result(url, 'getAccountInfo', [other.publicKey.toBase58(), { encoding: 'base64' }])).value,
      null,
    );

    // A program account with data: the sysvar clock, sliced.
    const sysClock = 'SysvarC1ock11111111111111111111111111111111';
    const full = await result(url, 'getAccountInfo', [sysClock, { encoding: 'base64' }]);
    const data = Buffer.from(full.value.data[0], 'base64');
    assert.equal(data.readBigUInt64LE(0), BigInt(cluster.chain.slot), 'the clock sysvar follows the slot');
    const sliced = await result(url, 'getAccountInfo', [
      sysClock,
      { encoding: 'base64', dataSlice: { offset: 0, length: 8 } },
    ]);
    assert.equal(Buffer.from(sliced.value.data[0], 'base64').length, 8);
    assert.equal(sliced.value.space, data.length);

    const multi = await result(url, 'getMultipleAccounts', [[key, other.publicKey.toBase58()], { encoding: 'base64' }]);
    assert.equal(multi.value.length, 2);
    assert.equal(multi.value[0].lamports, 5 * LAMPORTS_PER_SOL);
    assert.equal(multi.value[1], null);
  });

  it('getMinimumBalanceForRentExemption, getEpochInfo, getEpochSchedule, getTransactionCount', async () => {
    assert.equal(await result(url, 'getMinimumBalanceForRentExemption', [0]), 890_880);
    assert.equal(await result(url, 'getMinimumBalanceForRentExemption', [165]), 2_039_280);
    const e = await result(url, 'getEpochInfo', [{ commitment: 'processed' }]);
    assert.equal(e.absoluteSlot, cluster.chain.slot);
    assert.equal(e.blockHeight, cluster.chain.blockHeight);
    assert.equal(e.slotIndex, e.absoluteSlot % e.slotsInEpoch);
    assert.equal(typeof e.epoch, 'number');
    assert.equal(typeof e.transactionCount, 'number');
    const s = await result(url, 'getEpochSchedule');
    assert.equal(s.slotsPerEpoch, e.slotsInEpoch);
    assert.ok((await result(url, 'getTransactionCount')) >= 1);
  });

  it('getFeeForMessage: signatures plus the prioritization fee; null for an unknown blockhash', async () => {
    const { blockhash } = (await result(url, 'getLatestBlockhash', [{ commitment: 'processed' }])).value;
    const plain = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: blockhash,
      instructions: [
        SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: other.publicKey, lamports: 1_000_000 }),
      ],
    }).compileToLegacyMessage();
    const fee = await result(url, 'getFeeForMessage', [
      Buffer.from(plain.serialize()).toString('base64'),
      { commitment: 'processed' },
    ]);
    assert.equal(fee.value, 5000);
    const priced = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: blockhash,
      instructions: [
        ComputeBudgetProgram.setComputeUnitLimit({ units: 10_000 }),
        ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 1_000_001 }),
        SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: other.publicKey, lamports: 1_000_000 }),
      ],
    }).compileToV0Message();
    const pfee = await result(url, 'getFeeForMessage', [
      Buffer.from(priced.serialize()).toString('base64'),
      { commitment: 'processed' },
    ]);
    assert.equal(pfee.value, 5000 + Math.ceil((1_000_001 * 10_000) / 1e6));
    const stale = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: Keypair.generate().publicKey.toBase58(),
      instructions: [],
    }).compileToLegacyMessage();
    assert.equal(
      (await result(url, 'getFeeForMessage', [Buffer.from(stale.serialize()).toString('base64')])).value,
      null,
    );
  });

  it('simulateTransaction: success, failure, sigVerify, accounts, replaceRecentBlockhash', async () => {
    const { blockhash } = (await result(url, 'getLatestBlockhash', [{ commitment: 'processed' }])).value;
    const ok = transferTx(payer, other.publicKey, LAMPORTS_PER_SOL, blockhash);
    const sim = await result(url, 'simulateTransaction', [
      ok.base64,
      {
        encoding: 'base64',
        commitment: 'processed',
        accounts: { addresses: [other.publicKey.toBase58()], encoding: 'base64' },
      },
    ]);
    assert.equal(sim.value.err, null);
    assert.ok(sim.value.logs.some((l: string) => l.includes('success')));
    assert.ok(sim.value.unitsConsumed > 0);
    assert.equal(sim.value.accounts[0].lamports, LAMPORTS_PER_SOL, 'post-simulation state of the requested account');
    assert.equal(
      (await result(url, 'getBalance', [other.publicKey.toBase58()])).value,
      0,
      'simulation commits nothing',
    );

    const big = transferTx(payer, other.publicKey, 100 * LAMPORTS_PER_SOL, blockhash);
    const failed = await result(url, 'simulateTransaction', [big.base64, { encoding: 'base64' }]);
    assert.deepEqual(failed.value.err, { InstructionError: [0, { Custom: 1 }] });
    assert.ok(failed.value.logs.some((l: string) => l.includes('insufficient lamports')));
    assert.equal(failed.value.accounts, null);

    const unsigned = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: other.publicKey, lamports: LAMPORTS_PER_SOL }),
    );
    const raw = unsigned.serialize({ requireAllSignatures: false, verifySignatures: false }).toString('base64');
    assert.equal(
      (await result(url, 'simulateTransaction', [raw, { encoding: 'base64' }])).value.err,
      null,
      'sigVerify defaults to false',
    );
    assert.equal(
      (await result(url, 'simulateTransaction', [raw, { encoding: 'base64', sigVerify: true }])).value.err,
      'SignatureFailure',
    );

    const stale = transferTx(payer, other.publicKey, LAMPORTS_PER_SOL, Keypair.generate().publicKey.toBase58());
    assert.equal(
      (await result(url, 'simulateTransaction', [stale.base64, { encoding: 'base64' }])).value.err,
      'BlockhashNotFound',
    );
    const replaced = await result(url, 'simulateTransaction', [
      stale.base64,
      { encoding: 'base64', replaceRecentBlockhash: true },
    ]);
    assert.equal(replaced.value.err, null);
    assert.equal(replaced.value.replacementBlockhash.blockhash, blockhash);
    const both = await rpc(url, 'simulateTransaction', [
      stale.base64,
      { encoding: 'base64', replaceRecentBlockhash: true, sigVerify: true },
    ]);
    assert.equal(both.error?.code, -32602);
  });

  it('sendTransaction (base64 and base58) then getSignatureStatuses progress processed → confirmed → finalized', async () => {
    const { blockhash } = (await result(url, 'getLatestBlockhash', [{ commitment: 'processed' }])).value;
    const a = transferTx(payer, other.publicKey, LAMPORTS_PER_SOL, blockhash);
    const b = transferTx(payer, other.publicKey, LAMPORTS_PER_SOL + 1, blockhash);
    assert.equal(await result(url, 'sendTransaction', [a.base64, { encoding: 'base64' }]), a.signature);
    assert.equal(
      await result(url, 'sendTransaction', [base58(Buffer.from(b.base64, 'base64'))]),
      b.signature,
      'base58 is the default encoding',
    );
    const unknown = base58(Keypair.generate().secretKey);
    const st = await result(url, 'getSignatureStatuses', [[a.signature, unknown]]);
    assert.equal(typeof st.context.slot, 'number');
    assert.deepEqual(st.value[0], {
      slot: cluster.chain.slot,
      confirmations: 0,
      err: null,
      status: { Ok: null },
      confirmationStatus: 'processed',
    });
    assert.equal(st.value[1], null);
    clock.advance(400);
    const c = (await result(url, 'getSignatureStatuses', [[a.signature]])).value[0];
    assert.equal(c.confirmationStatus, 'confirmed');
    assert.equal(c.confirmations, 1);
    clock.advance(400 * 31);
    const f = (await result(url, 'getSignatureStatuses', [[a.signature], { searchTransactionHistory: true }])).value[0];
    assert.equal(f.confirmationStatus, 'finalized');
    assert.equal(f.confirmations, null);
    assert.equal((await result(url, 'getBalance', [other.publicKey.toBase58()])).value, 2 * LAMPORTS_PER_SOL + 1);
  });

  it('getTransaction and getSignaturesForAddress report a landed transfer', async () => {
    const { blockhash } = (await result(url, 'getLatestBlockhash', [{ commitment: 'processed' }])).value;
    const t = transferTx(payer, other.publicKey, 12345 + LAMPORTS_PER_SOL, blockhash);
    await result(url, 'sendTransaction', [t.base64, { encoding: 'base64' }]);
    assert.equal(
      await result(url, 'getTransaction', [t.signature, { commitment: 'confirmed' }]),
      null,
      'not confirmed yet',
    );
    clock.advance(400);
    const tx = await result(url, 'getTransaction', [t.signature, { commitment: 'confirmed' }]);
    assert.equal(tx.meta.fee, 5000);
    assert.equal(tx.meta.err, null);
    assert.equal(tx.meta.preBalances[0] - tx.meta.postBalances[0], 12345 + LAMPORTS_PER_SOL + 5000);
    assert.deepEqual(tx.transaction.signatures, [t.signature]);
    assert.equal(tx.transaction.message.recentBlockhash, blockhash);
    assert.equal(tx.transaction.message.accountKeys[0], payer.publicKey.toBase58());
    const b64 = await result(url, 'getTransaction', [t.signature, { commitment: 'confirmed', encoding: 'base64' }]);
    assert.deepEqual(b64.transaction, [t.base64, 'base64']);
    const sigs = await result(url, 'getSignaturesForAddress', [
      other.publicKey.toBase58(),
      { commitment: 'confirmed', limit: 2 },
    ]);
    assert.equal(sigs.length, 2);
    assert.equal(sigs[0].signature, t.signature, 'newest first');
    assert.equal(sigs[0].confirmationStatus, 'confirmed');
    assert.equal(sigs[0].memo, null);
  });

  it('a v0 transaction lands, and getTransaction asks for maxSupportedTransactionVersion', async () => {
    const { blockhash } = (await result(url, 'getLatestBlockhash', [{ commitment: 'processed' }])).value;
    const msg = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: blockhash,
      instructions: [SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: other.publicKey, lamports: 777 })],
    }).compileToV0Message();
    const v0 = new VersionedTransaction(msg);
    v0.sign([payer]);
    const sig = await result(url, 'sendTransaction', [
      Buffer.from(v0.serialize()).toString('base64'),
      { encoding: 'base64' },
    ]);
    clock.advance(400);
    const refused = await rpc(url, 'getTransaction', [sig, { commitment: 'confirmed' }]);
    assert.equal(refused.error?.code, -32015);
    const tx = await result(url, 'getTransaction', [
      sig,
      { commitment: 'confirmed', maxSupportedTransactionVersion: 0 },
    ]);
    assert.equal(tx.version, 0);
    assert.deepEqual(tx.transaction.message.addressTableLookups, []);
  });

  it('getRecentPrioritizationFees: one entry per recent slot with the lowest landed price', async () => {
    const { blockhash } = (await result(url, 'getLatestBlockhash', [{ commitment: 'processed' }])).value;
    const tx = new Transaction({ feePayer: payer.publicKey, recentBlockhash: blockhash }).add(
      ComputeBudgetProgram.setComputeUnitPrice({ microLamports: 4242 }),
      SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: other.publicKey, lamports: 999 }),
    );
    tx.sign(payer);
    await result(url, 'sendTransaction', [tx.serialize().toString('base64'), { encoding: 'base64' }]);
    const fees = await result(url, 'getRecentPrioritizationFees', [[other.publicKey.toBase58()]]);
    assert.ok(Array.isArray(fees) && fees.length > 0 && fees.length <= 150);
    for (const f of fees) {
      assert.equal(typeof f.slot, 'number');
      assert.equal(typeof f.prioritizationFee, 'number');
    }
    assert.deepEqual(fees.at(-1), { slot: cluster.chain.slot, prioritizationFee: 4242 });
    const unrelated = await result(url, 'getRecentPrioritizationFees', [[Keypair.generate().publicKey.toBase58()]]);
    assert.equal(unrelated.at(-1).prioritizationFee, 0);
  });

  it('preflight failures answer -32002 with data like Solana, bad signatures -32003', async () => {
    const { blockhash } = (await result(url, 'getLatestBlockhash', [{ commitment: 'processed' }])).value;
    const big = transferTx(payer, other.publicKey, 1000 * LAMPORTS_PER_SOL, blockhash);
    const r = await rpc(url, 'sendTransaction', [big.base64, { encoding: 'base64' }]);
    assert.equal(r.error?.code, -32002);
    assert.equal(
      r.error?.message,
      'Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1',
    );
    assert.deepEqual(r.error?.data.err, { InstructionError: [0, { Custom: 1 }] });
    assert.ok(Array.isArray(r.error?.data.logs) && r.error!.data.logs.length > 0);
    assert.equal(typeof r.error?.data.unitsConsumed, 'number');

    const bytes = Buffer.from(transferTx(payer, other.publicKey, 5, blockhash).base64, 'base64');
    bytes[10] = (bytes[10] ?? 0) ^ 0xff;
    const bad = await rpc(url, 'sendTransaction', [bytes.toString('base64'), { encoding: 'base64' }]);
    assert.equal(bad.error?.code, -32003);
    assert.equal(bad.error?.message, 'Transaction signature verification failure');

    const nobody = Keypair.generate();
    const unfunded = transferTx(nobody, other.publicKey, 5, blockhash);
    const u = await rpc(url, 'sendTransaction', [unfunded.base64, { encoding: 'base64' }]);
    assert.equal(u.error?.code, -32002);
    assert.equal(u.error?.data.err, 'AccountNotFound');
    assert.match(u.error!.message, /no record of a prior credit/);

    const stale = transferTx(payer, other.publicKey, 5, Keypair.generate().publicKey.toBase58());
    const s = await rpc(url, 'sendTransaction', [stale.base64, { encoding: 'base64' }]);
    assert.equal(s.error?.message, 'Transaction simulation failed: Blockhash not found');

    const dup = transferTx(payer, other.publicKey, 31337, blockhash);
    await result(url, 'sendTransaction', [dup.base64, { encoding: 'base64' }]);
    const again = await rpc(url, 'sendTransaction', [dup.base64, { encoding: 'base64' }]);
    assert.equal(again.error?.data.err, 'AlreadyProcessed');
    const skipped = await rpc(url, 'sendTransaction', [dup.base64, { encoding: 'base64', skipPreflight: true }]);
    assert.equal(
      skipped.result,
      dup.signature,
      'without preflight a duplicate is accepted and deduplicated by signature',
    );
    const stats = cluster.getStats().chain;
    assert.ok((stats.preflightRejected['InstructionError'] ?? 0) >= 1);
    assert.equal(stats.dropped['AlreadyProcessed'], 1);
  });

  it('the boundary: -32601, -32602, -32700, -32600, ids echoed, notifications, batches', async () => {
    assert.deepEqual(await rpc(url, 'getNothing', [], 'x-1'), {
      jsonrpc: '2.0',
      error: { code: -32601, message: 'Method not found' },
      id: 'x-1',
    });
    assert.equal((await rpc(url, 'getBalance', ['not-a-key'])).error?.code, -32602);
    assert.equal((await rpc(url, 'getBalance', [42])).error?.code, -32602);
    assert.equal((await rpc(url, 'getBalance', [])).error?.code, -32602);
    assert.equal((await rpc(url, 'getSlot', [{ commitment: 'soon' }])).error?.code, -32602);
    assert.equal((await rpc(url, 'getBalance', { pubkey: 'x' } as never)).error?.code, -32602);
    assert.equal(
      (await rpc(url, 'getMultipleAccounts', [Array(101).fill(payer.publicKey.toBase58())])).error?.code,
      -32602,
    );
    const future = await rpc(url, 'getSlot', [{ commitment: 'processed', minContextSlot: cluster.chain.slot + 10 }]);
    assert.equal(future.error?.code, -32016);
    assert.equal(future.error?.data.contextSlot, cluster.chain.slot);

    // Bytes the SVM could not parse never reach it (litesvm aborts the process on them).
    assert.equal(
      (await rpc(url, 'sendTransaction', [Buffer.from([1, 2, 3]).toString('base64'), { encoding: 'base64' }])).error
        ?.code,
      -32602,
    );
    assert.equal((await rpc(url, 'sendTransaction', ['%%%', { encoding: 'base64' }])).error?.code, -32602);
    assert.equal(
      (await rpc(url, 'sendTransaction', [Buffer.alloc(1300).toString('base64'), { encoding: 'base64' }])).error?.code,
      -32602,
    );
    assert.equal(
      (await rpc(url, 'simulateTransaction', [Buffer.from([0]).toString('base64'), { encoding: 'base64' }])).error
        ?.code,
      -32602,
    );
    assert.equal(await result(url, 'getHealth'), 'ok', 'still alive');

    assert.equal((await rpc(url, 'getSlot', [], 7)).id, 7);
    assert.equal((await rpc(url, 'getSlot', [], 'abc')).id, 'abc');
    assert.equal((await rpc(url, 'getSlot', [], null)).id, null);

    const parse = await (await post(url, '{"jsonrpc":"2.0",')).json();
    assert.deepEqual(parse, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
    const invalid = await (await post(url, { id: 3, method: 'getSlot' })).json();
    assert.deepEqual(invalid, { jsonrpc: '2.0', error: { code: -32600, message: 'Invalid request' }, id: 3 });
    const empty = (await (await post(url, [])).json()) as any;
    assert.equal(empty.error.code, -32600);
    const note = await post(url, { jsonrpc: '2.0', method: 'getSlot' });
    assert.equal(note.status, 200);
    assert.equal(await note.text(), '', 'a notification gets no answer');

    const batch = (await (
      await post(url, [
        { jsonrpc: '2.0', id: 'a', method: 'getSlot', params: [{ commitment: 'processed' }] },
        { jsonrpc: '2.0', id: 2, method: 'getBalance', params: [payer.publicKey.toBase58()] },
        { jsonrpc: '2.0', id: 'c', method: 'nope' },
        { jsonrpc: '2.0', method: 'getSlot' },
        { jsonrpc: '2.0', id: 4, method: 'getBalance', params: ['bad'] },
      ])
    ).json()) as any;
    assert.equal(batch.length, 4, 'one answer per call with an id');
    assert.deepEqual(
      batch.map((r: { id: unknown }) => r.id),
      ['a', 2, 'c', 4],
    );
    assert.equal(batch[0].result, cluster.chain.slot);
    assert.equal(typeof batch[1].result.value, 'number');
    assert.equal(batch[2].error.code, -32601);
    assert.equal(batch[3].error.code, -32602);

    const get = await fetch(url, { signal: AbortSignal.timeout(5000) });
    assert.equal(get.status, 405);
    await get.text();
    const health = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
    assert.equal(await health.text(), 'ok');
  });

  it('requestAirdrop: twice the same amount in one slot both land; bad amounts are refused', async () => {
    const k = Keypair.generate().publicKey.toBase58();
    const s1 = await result(url, 'requestAirdrop', [k, LAMPORTS_PER_SOL]);
    const s2 = await result(url, 'requestAirdrop', [k, LAMPORTS_PER_SOL]);
    assert.notEqual(s1, s2);
    assert.equal((await result(url, 'getBalance', [k])).value, 2 * LAMPORTS_PER_SOL);
    assert.equal((await rpc(url, 'requestAirdrop', [k, 0])).error?.code, -32602);
    assert.equal((await rpc(url, 'requestAirdrop', [k, -5])).error?.code, -32602);
    const tiny = await rpc(url, 'requestAirdrop', [Keypair.generate().publicKey.toBase58(), 10]);
    assert.equal(tiny.error?.code, -32603, 'below rent exemption the faucet transfer fails like on a real cluster');
    assert.match(tiny.error!.message, /insufficient funds for rent/);
  });
});
