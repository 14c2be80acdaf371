/**
 * The chain under the cluster, driven by a ManualClock: slots follow time, blockhashes live
 * 150 blocks, statuses climb the commitment levels, and bounded history is counted.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Keypair, LAMPORTS_PER_SOL } from '@solana/web3.js';
import { ManualClock } from '../src/clock.ts';
import { silentLogger } from '../src/log/index.ts';
import { LocalChain, type ChainOptions } from '../src/devnet/chain.ts';
import { decodeTransaction } from '../src/devnet/wire.ts';
import { transferTx } from './devnet.helpers.ts';

function makeChain(extra: Partial<ChainOptions> = {}): { chain: LocalChain; clock: ManualClock } {
  const clock = new ManualClock();
  const chain = new LocalChain({ slotMs: 400, clock, logger: silentLogger, ...extra });
  chain.start();
  return { chain, clock };
}

function fundedPayer(chain: LocalChain): Keypair {
  const kp = Keypair.generate();
  chain.airdrop(kp.publicKey.toBytes(), BigInt(10 * LAMPORTS_PER_SOL));
  return kp;
}

describe('devnet chain', { timeout: 60_000 }, () => {
  it('advances one slot per slotMs of the injected clock, catching up after a stall', () => {
    const { chain, clock } = makeChain();
    const s0 = chain.slot;
    const h0 = chain.blockHeight;
    assert.equal(s0, 1000);
    assert.equal(h0, 900);
    clock.advance(399);
    assert.equal(chain.slot, s0);
    clock.advance(1);
    assert.equal(chain.slot, s0 + 1);
    assert.equal(chain.blockHeight, h0 + 1);
    clock.advance(4000);
    assert.equal(chain.slot, s0 + 11, 'ten more slots after 4 s, however the timers fired');
    assert.notEqual(chain.blockAt(s0 + 10).blockhash, chain.blockAt(s0 + 11).blockhash, 'one blockhash per block');
    const sysvar = chain.svm.getClock();
    assert.equal(sysvar.slot, BigInt(chain.slot));
    assert.equal(sysvar.unixTimestamp, BigInt(Math.floor(clock.now() / 1000)));
    chain.stop();
    assert.equal(clock.pendingTimers, 0, 'stop leaves no timer behind');
    clock.advance(4000);
    assert.equal(chain.slot, s0 + 11);
  });

  it('a blockhash is usable for 150 blocks, then expires', () => {
    const { chain } = makeChain();
    const payer = fundedPayer(chain);
    const b = chain.latestBlockhash('processed');
    assert.equal(b.lastValidBlockHeight, chain.blockHeight + 150);
    chain.advanceSlots(150);
    assert.equal(chain.blockHeight, b.lastValidBlockHeight);
    assert.equal(chain.isBlockhashValid(b.blockhash), true, 'still valid at lastValidBlockHeight');
    const early = decodeTransaction(
      transferTx(payer, Keypair.generate().publicKey, LAMPORTS_PER_SOL, b.blockhash).base64,
      'base64',
    );
    assert.equal(chain.sendTransaction(early, { skipPreflight: false }), early.signature);
    chain.advanceSlots(1);
    assert.equal(chain.isBlockhashValid(b.blockhash), false);
    const late = decodeTransaction(
      transferTx(payer, Keypair.generate().publicKey, LAMPORTS_PER_SOL, b.blockhash).base64,
      'base64',
    );
    assert.throws(() => chain.sendTransaction(late, { skipPreflight: false }), /Blockhash not found/);
    chain.sendTransaction(late, { skipPreflight: true });
    assert.equal(chain.getStats().dropped['BlockhashNotFound'], 1);
    assert.equal(
      chain.signatureStatus(late.signature, { searchTransactionHistory: true }),
      null,
      'dropped, never landed',
    );
    chain.stop();
  });

  it('statuses climb processed → confirmed → finalized and leave the status cache after 300 slots', () => {
    const { chain } = makeChain();
    const payer = fundedPayer(chain);
    const tx = decodeTransaction(
      transferTx(payer, Keypair.generate().publicKey, LAMPORTS_PER_SOL, chain.latestBlockhash('processed').blockhash)
        .base64,
      'base64',
    );
    chain.sendTransaction(tx, { skipPreflight: false });
    const landed = chain.slot;
    const st = (): ReturnType<LocalChain['signatureStatus']> =>
      chain.signatureStatus(tx.signature, { searchTransactionHistory: false });
    assert.equal(st()?.confirmationStatus, 'processed');
    assert.equal(chain.reached(tx.signature, 'confirmed'), undefined);
    chain.advanceSlots(1);
    assert.equal(st()?.confirmationStatus, 'confirmed');
    assert.equal(
      chain.signatureStatus(tx.signature, { searchTransactionHistory: false, lag: 1 })?.confirmationStatus,
      'processed',
      'a lagging node is a step behind',
    );
    assert.equal(
      chain.signatureStatus(tx.signature, { searchTransactionHistory: false, lag: 2 }),
      null,
      'a node further behind has not seen it',
    );
    chain.advanceSlots(30);
    assert.equal(st()?.confirmationStatus, 'confirmed');
    assert.equal(st()?.confirmations, 31);
    chain.advanceSlots(1);
    assert.deepEqual(st(), {
      slot: landed,
      confirmations: null,
      err: null,
      status: { Ok: null },
      confirmationStatus: 'finalized',
    });
    assert.ok(chain.reached(tx.signature, 'finalized'));
    chain.advanceSlots(300 - 32 + 1);
    assert.equal(st(), null, 'out of the recent status cache');
    assert.equal(
      chain.signatureStatus(tx.signature, { searchTransactionHistory: true })?.confirmationStatus,
      'finalized',
    );
    chain.stop();
  });

  it('bounded history evicts the oldest records and counts them', () => {
    const { chain } = makeChain({ historyCapacity: 2 });
    const sigs = [1, 2, 3].map(() => chain.airdrop(Keypair.generate().publicKey.toBytes(), BigInt(LAMPORTS_PER_SOL)));
    assert.equal(chain.getStats().historyEvicted, 1);
    assert.equal(chain.getRecord(sigs[0]!), undefined);
    assert.ok(chain.getRecord(sigs[2]!));
    assert.equal(chain.getStats().airdrops, 3);
    chain.stop();
  });

  it('commitment and lag select older blocks', () => {
    const { chain } = makeChain();
    chain.advanceSlots(100);
    const tip = chain.slot;
    assert.equal(chain.slotFor('processed'), tip);
    assert.equal(chain.slotFor('confirmed'), tip - 1);
    assert.equal(chain.slotFor('finalized'), tip - 32);
    assert.equal(chain.slotFor('processed', 10), tip - 10);
    assert.equal(chain.latestBlockhash('processed', 10).blockhash, chain.blockAt(tip - 10).blockhash);
    assert.equal(chain.slotFor('finalized', 1000), chain.startSlot, 'never before the first block');
    chain.stop();
  });
});
