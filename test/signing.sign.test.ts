/**
 * Off-thread signatures are web3.js's own: same bytes for the same message and key, and the
 * wire bytes assembled without web3.js equal `Transaction.serialize()`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import {
  Keypair,
  PublicKey,
  SystemProgram,
  Transaction,
  TransactionMessage,
  VersionedTransaction,
} from '@solana/web3.js';
import {
  OffThreadSigner,
  SigningKey,
  requiredSigners,
  signMessageToWire,
  wireTransaction,
  type SignerError,
} from '../src/signing/index.ts';

const BLOCKHASH = 'GHtXQBsoZHVnNFa9YevAzFr17DJjgHXk3ycTKD5xD3Zi';

function transfer(from: Keypair, to: PublicKey, lamports: number, extraSigner?: Keypair): Transaction {
  const tx = new Transaction({ feePayer: from.publicKey, blockhash: BLOCKHASH, lastValidBlockHeight: 100 }).add(
    SystemProgram.transfer({ fromPubkey: from.publicKey, toPubkey: to, lamports }),
  );
  if (extraSigner)
    tx.add(SystemProgram.transfer({ fromPubkey: extraSigner.publicKey, toPubkey: to, lamports: lamports + 1 }));
  return tx;
}

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: SignerError) => {
    assert.equal(err.code, code, `expected ${code}, got ${err.code}: ${err.message}`);
    return true;
  });
}

describe('signing: signatures and wire bytes equal web3.js', { timeout: 60_000 }, () => {
  let signer: OffThreadSigner;
  before(async () => {
    signer = new OffThreadSigner({ minThreads: 1, maxThreads: 2 });
    await signer.ready();
  });
  after(() => signer.close());

  it('a signature equals Transaction.sign for the same message and key', async () => {
    for (let i = 0; i < 5; i++) {
      const payer = Keypair.generate();
      const tx = transfer(payer, Keypair.generate().publicKey, 1000 + i);
      const message = tx.compileMessage().serialize();
      const ours = await signer.sign(message, SigningKey.fromSecretKey(payer.secretKey));
      tx.sign(payer);
      assert.ok(ours instanceof Uint8Array);
      assert.equal(ours.length, 64);
      assert.deepEqual(Buffer.from(ours), tx.signature);
    }
    assert.equal(signer.stats().signed, 5);
  });

  it('a 32-byte seed and the 64-byte secret key sign alike', async () => {
    const payer = Keypair.generate();
    const message = transfer(payer, Keypair.generate().publicKey, 5).compileMessage().serialize();
    const a = await signer.sign(message, SigningKey.fromSecretKey(payer.secretKey));
    const b = await signer.sign(message, SigningKey.fromSecretKey(payer.secretKey.slice(0, 32)));
    assert.deepEqual(a, b);
    assert.deepEqual(SigningKey.fromSecretKey(payer.secretKey.slice(0, 32)).publicKey, payer.publicKey.toBytes());
  });

  it('the wire transaction of a two-signer message equals Transaction.serialize, whatever order the keys come in', async () => {
    const payer = Keypair.generate();
    const other = Keypair.generate();
    const tx = transfer(payer, Keypair.generate().publicKey, 42, other);
    const message = tx.compileMessage().serialize();
    const signers = requiredSigners(message).map((k) => new PublicKey(k).toBase58());
    assert.deepEqual(signers, [payer.publicKey.toBase58(), other.publicKey.toBase58()]);
    const { wire, signature } = await signMessageToWire(signer, message, [
      SigningKey.fromSecretKey(other.secretKey),
      SigningKey.fromSecretKey(payer.secretKey),
    ]);
    tx.sign(payer, other);
    assert.deepEqual(wire, tx.serialize());
    assert.deepEqual(Buffer.from(signature), tx.signature);
  });

  it('a versioned (v0) message signs and assembles like VersionedTransaction', async () => {
    const payer = Keypair.generate();
    const msg = new TransactionMessage({
      payerKey: payer.publicKey,
      recentBlockhash: BLOCKHASH,
      instructions: [
        SystemProgram.transfer({ fromPubkey: payer.publicKey, toPubkey: Keypair.generate().publicKey, lamports: 7 }),
      ],
    }).compileToV0Message();
    const bytes = msg.serialize();
    assert.equal(bytes[0]! & 0x80, 0x80);
    const { wire } = await signMessageToWire(signer, bytes, [SigningKey.fromSecretKey(payer.secretKey)]);
    const vtx = new VersionedTransaction(msg);
    vtx.sign([payer]);
    assert.deepEqual(wire, Buffer.from(vtx.serialize()));
  });

  it('a missing signer, a wrong signature count and bad messages are typed input errors', async () => {
    const payer = Keypair.generate();
    const message = transfer(payer, Keypair.generate().publicKey, 1).compileMessage().serialize();
    await rejectsWithCode(
      signMessageToWire(signer, message, [SigningKey.fromSecretKey(Keypair.generate().secretKey)]),
      'SIGNER_BAD_INPUT',
    );
    assert.throws(() => wireTransaction(message, []), { code: 'SIGNER_BAD_INPUT' });
    assert.throws(() => wireTransaction(message, [new Uint8Array(63)]), { code: 'SIGNER_BAD_INPUT' });
    assert.throws(() => requiredSigners(new Uint8Array([1, 0, 1])), { code: 'SIGNER_BAD_INPUT' });
    assert.throws(() => requiredSigners(message.subarray(0, 20)), { code: 'SIGNER_BAD_INPUT' });
    await rejectsWithCode(
      signer.sign(new Uint8Array(0), SigningKey.fromSecretKey(payer.secretKey)),
      'SIGNER_BAD_INPUT',
    );
    await rejectsWithCode(
      signer.sign('abc' as unknown as Uint8Array, SigningKey.fromSecretKey(payer.secretKey)),
      'SIGNER_BAD_INPUT',
    );
    await rejectsWithCode(signer.sign(message, payer.secretKey as unknown as SigningKey), 'SIGNER_BAD_KEY');
  });

  it('bad secret keys are refused, and a key never shows its secret bytes', () => {
    assert.throws(() => SigningKey.fromSecretKey(new Uint8Array(31)), { code: 'SIGNER_BAD_KEY' });
    const kp = Keypair.generate();
    const tampered = kp.secretKey.slice();
    tampered[40] = tampered[40]! ^ 1;
    assert.throws(() => SigningKey.fromSecretKey(tampered), { code: 'SIGNER_BAD_KEY' });
    const key = SigningKey.fromSecretKey(kp.secretKey);
    const seedHex = Buffer.from(kp.secretKey.subarray(0, 32)).toString('hex');
    const seedB64 = Buffer.from(kp.secretKey.subarray(0, 32)).toString('base64');
    for (const shown of [
      inspect(key, { depth: 5, showHidden: true }),
      JSON.stringify(key),
      JSON.stringify({ key }),
      String(inspect(key.keyObject)),
    ]) {
      assert.ok(!shown.includes(seedHex) && !shown.includes(seedB64), `secret visible in: ${shown}`);
    }
    assert.ok(inspect(key).includes(Buffer.from(kp.publicKey.toBytes()).toString('hex')));
  });
});
