/**
 * @solana/kit over the pool against the local cluster: reads fail over while a provider is killed
 * mid-run, the node's JSON-RPC errors reach the caller as kit's SolanaError, and a transaction
 * built and signed with kit is sent and confirmed through kit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  AccountRole,
  address,
  appendTransactionMessageInstruction,
  createSolanaRpcFromTransport,
  createTransactionMessage,
  generateKeyPairSigner,
  getBase64EncodedWireTransaction,
  getSignatureFromTransaction,
  isSolanaError,
  lamports,
  pipe,
  setTransactionMessageFeePayerSigner,
  setTransactionMessageLifetimeUsingBlockhash,
  signTransactionMessageWithSigners,
  SOLANA_ERROR__JSON_RPC__INVALID_PARAMS,
  SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE,
  type AccountSignerMeta,
  type Address,
  type Instruction,
  type InstructionWithSigners,
  type TransactionSigner,
  type Signature,
} from '@solana/kit';
import { startLocalCluster, type LocalCluster } from '../src/devnet/index.ts';
import { RpcConnectionPool } from '../src/rpc/pool.ts';
import { RpcPoolError } from '../src/rpc/errors.ts';
import { createKitTransport, KitTransportError } from '../src/solana/kit-transport.ts';
import { waitFor } from './devnet.helpers.ts';

let cluster: LocalCluster;
before(async () => {
  cluster = await startLocalCluster({ slotMs: 20 });
});
after(async () => {
  await cluster.close();
});

function pool(): RpcConnectionPool {
  return new RpcConnectionPool({
    endpoints: cluster.endpoints.map((e) => ({ name: e.name, url: e.url, wsUrl: e.wsUrl })),
    attemptTimeoutMs: 400,
    requestTimeoutMs: 2000,
    breaker: { failureThreshold: 2, cooldownMs: 60_000 },
  });
}

const SYSTEM_PROGRAM = address('11111111111111111111111111111111');

/** System program Transfer (instruction 2, u64 lamports little-endian), built by hand. */
function transferInstruction(
  from: TransactionSigner,
  to: Address,
  amount: bigint,
): Instruction & InstructionWithSigners {
  const data = new Uint8Array(12);
  const view = new DataView(data.buffer);
  view.setUint32(0, 2, true);
  view.setBigUint64(4, amount, true);
  return {
    programAddress: SYSTEM_PROGRAM,
    accounts: [
      { address: from.address, role: AccountRole.WRITABLE_SIGNER, signer: from } as AccountSignerMeta,
      { address: to, role: AccountRole.WRITABLE },
    ],
    data,
  };
}

async function confirmed(rpc: ReturnType<typeof createSolanaRpcFromTransport>, signature: Signature): Promise<void> {
  await waitFor(
    async () => {
      const { value } = await rpc.getSignatureStatuses([signature]).send();
      const s = value[0];
      return s && (s.confirmationStatus === 'confirmed' || s.confirmationStatus === 'finalized') ? s : undefined;
    },
    10_000,
    `confirmation of ${signature}`,
  );
}

test('kit reads through the pool keep answering while the serving provider is killed mid-run', async () => {
  const p = pool();
  const rpc = createSolanaRpcFromTransport(createKitTransport(p));
  try {
    const who = await generateKeyPairSigner();
    const slots: bigint[] = [];
    for (let i = 0; i < 40; i++) {
      if (i === 10) await cluster.faults.kill('helius-local');
      if (i === 20) cluster.faults.set('chainstack-local', { kind: '503' });
      slots.push(await rpc.getSlot().send());
      const bal = await rpc.getBalance(who.address).send();
      assert.equal(bal.value, 0n);
      const bh = await rpc.getLatestBlockhash().send();
      assert.equal(typeof bh.value.blockhash, 'string');
      assert.equal(typeof bh.value.lastValidBlockHeight, 'bigint');
    }
    assert.equal(typeof slots[0], 'bigint', 'kit upcasts u64 answers to bigint as it does for its own transport');
    for (let i = 1; i < slots.length; i++) assert.ok(slots[i]! >= slots[i - 1]!, 'slots never go backwards');
    const s = p.getStats();
    const byName = Object.fromEntries(s.endpoints.map((e) => [e.name, e]));
    assert.ok(byName['helius-local']!.failures > 0, 'the killed provider was tried and failed');
    assert.ok(byName['chainstack-local']!.failuresByClass.http_5xx > 0, 'the 503 provider failed');
    assert.ok(byName['public-local']!.successes > 0, 'the last provider served');
    assert.equal(s.failed['RPC_POOL_EXHAUSTED'] ?? 0, 0, 'no kit call failed');
  } finally {
    await p.close();
    await cluster.faults.revive('helius-local');
    cluster.faults.clear();
  }
});

test("the node's JSON-RPC errors surface as kit's SolanaError; pool failures as RpcPoolError", async () => {
  const p = pool();
  const rpc = createSolanaRpcFromTransport(createKitTransport(p));
  try {
    await assert.rejects(rpc.getBalance('not-an-address' as Address).send(), (err: unknown) => {
      assert.ok(
        isSolanaError(err, SOLANA_ERROR__JSON_RPC__INVALID_PARAMS),
        `kit's invalid-params error, got ${String(err)}`,
      );
      return true;
    });
    // A caller error is not retried elsewhere and opens no breaker.
    assert.equal(p.getStats().failovers, 0);
    assert.ok(p.getStats().endpoints.every((e) => e.state === 'CLOSED'));

    for (const e of cluster.endpoints) cluster.faults.set(e.name, { kind: '503' });
    await assert.rejects(
      rpc.getSlot().send(),
      (err: unknown) => err instanceof RpcPoolError && err.code === 'RPC_POOL_EXHAUSTED',
    );
  } finally {
    cluster.faults.clear();
    await p.close();
  }
});

test('a caller abort rejects with the signal reason; a hostile payload gets a typed error', async () => {
  const p = pool();
  const transport = createKitTransport(p);
  const rpc = createSolanaRpcFromTransport(transport);
  try {
    cluster.faults.set('helius-local', { kind: 'hang' });
    const ctl = new AbortController();
    const reason = new Error('caller gave up');
    const pending = rpc.getSlot().send({ abortSignal: ctl.signal });
    setTimeout(() => ctl.abort(reason), 20);
    await assert.rejects(pending, (err: unknown) => err === reason);

    for (const payload of [null, 42, 'getSlot', [], { method: 'getSlot' }, { jsonrpc: '2.0', method: '' }]) {
      await assert.rejects(transport({ payload }), KitTransportError);
    }
    await assert.rejects(
      transport({ payload: { jsonrpc: '2.0', id: 1, method: 'getBalance', params: [2n ** 60n] } }),
      KitTransportError,
    );
    assert.throws(() => createKitTransport({} as never), KitTransportError);
    assert.throws(() => createKitTransport(p, { timeoutMs: Number.NaN }), /timeoutMs/);
    // A closed pool: the pool's typed error, not a hang.
    await p.close();
    await assert.rejects(
      rpc.getSlot().send(),
      (err: unknown) => err instanceof RpcPoolError && err.code === 'RPC_POOL_CLOSED',
    );
  } finally {
    cluster.faults.clear();
    await p.close();
  }
});

test('a transaction built and signed with kit is sent and confirmed through kit over the pool, a provider killed in between', async () => {
  const p = pool();
  const rpc = createSolanaRpcFromTransport(createKitTransport(p));
  try {
    const payer = await generateKeyPairSigner();
    const to = await generateKeyPairSigner();
    const airdrop = await rpc.requestAirdrop(payer.address, lamports(1_000_000_000n)).send();
    await confirmed(rpc, airdrop);

    await cluster.faults.kill('helius-local');
    const { value: latest } = await rpc.getLatestBlockhash().send();
    const message = pipe(
      createTransactionMessage({ version: 0 }),
      (m) => setTransactionMessageFeePayerSigner(payer, m),
      (m) => setTransactionMessageLifetimeUsingBlockhash(latest, m),
      (m) => appendTransactionMessageInstruction(transferInstruction(payer, to.address, 1_000_000n), m),
    );
    const signed = await signTransactionMessageWithSigners(message);
    const wire = getBase64EncodedWireTransaction(signed);
    const sig = await rpc.sendTransaction(wire, { encoding: 'base64' }).send();
    assert.equal(sig, getSignatureFromTransaction(signed));
    await confirmed(rpc, sig);
    assert.equal((await rpc.getBalance(to.address).send()).value, 1_000_000n);

    // The same bytes again with preflight: the node's "already processed" preflight failure is
    // kit's typed preflight error (the pool hands back the node's answer, it does not swallow it).
    await assert.rejects(rpc.sendTransaction(wire, { encoding: 'base64' }).send(), (err: unknown) => {
      assert.ok(
        isSolanaError(err, SOLANA_ERROR__JSON_RPC__SERVER_ERROR_SEND_TRANSACTION_PREFLIGHT_FAILURE),
        String(err),
      );
      return true;
    });
  } finally {
    await p.close();
    await cluster.faults.revive('helius-local');
  }
});
