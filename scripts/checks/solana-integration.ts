/**
 * The pool against Solana: getVersion, the seed's real-Solana breaker test, an airdrop, and a SOL
 * transfer sent and confirmed through `createSolanaConnection` while one provider is killed and
 * another rate-limits.
 *
 *   npm run test-real-solana-integration            # the local cluster, started in-process
 *   npm run test-real-solana-integration -- --inline   # endpoints in the host thread instead of actors
 *   HELIUS_RPC_URL=... CHAINSTACK_RPC_URL=... SOLANA_RPC_URL=... \
 *     npm run test-real-solana-integration -- --real   # real providers (devnet/testnet URLs for the airdrop)
 *
 * With --real nothing can be killed or rate-limited on purpose: a refused loopback endpoint is put
 * first in the failover order to stand in for a dead provider, and the rate-limit fault is
 * skipped (reported as such). A transfer needs SOL: from the airdrop, or a funded key given as a
 * JSON byte array in PALISADE_PAYER_SECRET_KEY. Prints one line per check and `N passed, N failed`;
 * exits non-zero when any check failed.
 */
import { Keypair, LAMPORTS_PER_SOL, SystemProgram, Transaction, sendAndConfirmTransaction } from '@solana/web3.js';
import { CircuitBreaker } from '../../src/breaker/index.ts';
import { getRpcPoolConfig, loadConfig } from '../../src/config/index.ts';
import { startLocalCluster, type LocalCluster } from '../../src/devnet/index.ts';
import { createLogger, redactText } from '../../src/log/index.ts';
import { Supervisor } from '../../src/runtime/index.ts';
import { RpcConnectionPool, type RpcPoolDependencies } from '../../src/rpc/pool.ts';
import type { PoolEndpointConfig, RpcPoolInputConfig } from '../../src/rpc/config.ts';
import { createSolanaConnection, type PoolConnection } from '../../src/rpc/web3-adapter.ts';
import { CheckRunner, describeError, ensure } from '../../test/support/checks.ts';
import { refusedUrl } from '../lib/loopback.ts';

const args = new Set(process.argv.slice(2));
const real = args.has('--real');
const inline = args.has('--inline');
const logger = createLogger({ name: 'real-solana-integration', level: process.env['PALISADE_LOG_LEVEL'] ?? 'error' });

const checks = new CheckRunner((line) => console.log(redactText(line)), { timing: true });

async function main(): Promise<void> {
  let cluster: LocalCluster | undefined;
  let config: RpcPoolInputConfig;
  if (real) {
    const env = process.env;
    if (!env['HELIUS_RPC_URL'] && !env['CHAINSTACK_RPC_URL'] && !env['SOLANA_RPC_URL']) {
      console.log('--real needs HELIUS_RPC_URL, CHAINSTACK_RPC_URL or SOLANA_RPC_URL');
      process.exit(2);
    }
    const base = getRpcPoolConfig(loadConfig());
    // A provider that is down for the whole run, first in the failover order.
    const dead: PoolEndpointConfig = { name: 'dead-provider', url: await refusedUrl(), tier: 0 };
    config = { ...base, endpoints: [dead, ...base.endpoints.map((e) => ({ ...e, tier: e.tier + 1 }))] };
    console.log(`real providers: ${base.endpoints.map((e) => `${e.name}=${redactText(e.url)}`).join(', ')}`);
  } else {
    cluster = await startLocalCluster({ logger });
    const [h, c, p] = cluster.endpoints;
    const base = getRpcPoolConfig(
      loadConfig({ env: { HELIUS_RPC_URL: h!.url, CHAINSTACK_RPC_URL: c!.url, SOLANA_RPC_URL: p!.url } }),
    );
    config = { ...base, endpoints: base.endpoints.map((e, i) => ({ ...e, wsUrl: cluster!.endpoints[i]!.wsUrl })) };
    console.log(`local cluster: ${cluster.endpoints.map((e) => `${e.name}=${e.url}`).join(', ')}`);
  }
  const supervisor = inline ? undefined : new Supervisor({ logger });
  const deps: RpcPoolDependencies = { logger, ...(supervisor ? { supervisor } : { mode: 'inline' as const }) };
  const pool = new RpcConnectionPool(config, deps);
  let conn: PoolConnection | undefined;
  try {
    await pool.ready();
    console.log(`pool mode: ${pool.mode}`);
    conn = createSolanaConnection(pool, 'confirmed');

    await checks.run('getVersion through the pool', async () => {
      const r = await pool.call<Record<string, unknown>>('getVersion', []);
      ensure(r.ok === true, 'not ok');
      return `solana-core ${String(r.result['solana-core'])} from ${r.endpoint} in ${r.latencyMs.toFixed(1)} ms (${r.attempts} attempt(s))`;
    });

    await checks.run('seed: circuit breaker protects real Solana RPC calls (invalid endpoint → OPEN)', async () => {
      const circuitBreaker = new CircuitBreaker({ failureThreshold: 3 });
      const rpcPool = new RpcConnectionPool(config, { circuitBreaker, logger, mode: 'inline' });
      const badConfig = { ...config, endpoints: [{ url: await refusedUrl(), weight: 1 }] };
      const badRpcPool = new RpcConnectionPool(badConfig, { circuitBreaker, logger, mode: 'inline' });
      try {
        const result1 = await rpcPool.call('getVersion', []);
        ensure(result1.ok === true, 'Normal RPC call should succeed');
        for (let i = 0; i < 5; i++) {
          try {
            await badRpcPool.call('getVersion', []);
          } catch {
            /* expected failures */
          }
        }
        ensure(
          circuitBreaker.getState() === 'OPEN',
          `Circuit should be OPEN after repeated failures (is ${circuitBreaker.getState()})`,
        );
        return `state ${circuitBreaker.getState()} after ${circuitBreaker.getStats().failures} counted failures`;
      } finally {
        await rpcPool.close();
        await badRpcPool.close();
      }
    });

    let payer: Keypair | undefined;
    const airdropOk = await checks.run('airdrop through createSolanaConnection', async () => {
      const kp = Keypair.generate();
      const sig = await conn!.requestAirdrop(kp.publicKey, 2 * LAMPORTS_PER_SOL);
      const bh = await conn!.getLatestBlockhash();
      const res = await conn!.confirmTransaction({ signature: sig, ...bh }, 'confirmed');
      ensure(res.value.err === null, `airdrop failed: ${JSON.stringify(res.value.err)}`);
      const bal = await conn!.getBalance(kp.publicKey, 'confirmed');
      ensure(bal === 2 * LAMPORTS_PER_SOL, `balance ${bal}`);
      payer = kp;
      return `2 SOL to ${kp.publicKey.toBase58().slice(0, 8)}…, confirmed`;
    });
    if (!payer && process.env['PALISADE_PAYER_SECRET_KEY']) {
      payer = Keypair.fromSecretKey(Uint8Array.from(JSON.parse(process.env['PALISADE_PAYER_SECRET_KEY']) as number[]));
    }

    if (cluster) {
      await cluster.faults.kill('helius-local');
      cluster.faults.set('chainstack-local', { kind: '429', retryAfterSec: 2 });
      console.log('faults: helius-local killed, chainstack-local answers 429 (Retry-After: 2)');
    } else {
      checks.skip('rate-limiting provider', 'real providers cannot be made to rate-limit on purpose');
    }

    if (!payer) {
      checks.skip(
        'SOL transfer sent and confirmed',
        airdropOk ? 'no payer' : 'no SOL: the airdrop failed and PALISADE_PAYER_SECRET_KEY is not set',
      );
    } else {
      const from = payer;
      const conditions = cluster
        ? 'one provider killed, one rate-limiting'
        : 'a dead provider first in the failover order';
      await checks.run(`SOL transfer sent and confirmed through createSolanaConnection (${conditions})`, async () => {
        const to = Keypair.generate();
        const lamports = LAMPORTS_PER_SOL / 100;
        const tx = new Transaction().add(
          SystemProgram.transfer({ fromPubkey: from.publicKey, toPubkey: to.publicKey, lamports }),
        );
        const t0 = performance.now();
        const sig = await sendAndConfirmTransaction(conn!, tx, [from], { commitment: 'confirmed' });
        const ms = performance.now() - t0;
        const bal = await conn!.getBalance(to.publicKey, 'confirmed');
        ensure(bal === lamports, `recipient balance ${bal}, expected ${lamports}`);
        return `${sig.slice(0, 12)}… confirmed in ${ms.toFixed(0)} ms`;
      });
    }

    await checks.run('no call failed; the dead provider is isolated', async () => {
      const s = pool.getStats();
      const failedCalls = Object.values(s.failed).reduce((a, b) => a + b, 0);
      ensure(failedCalls === 0, `failed calls: ${JSON.stringify(s.failed)}`);
      const dead = s.endpoints[0]!;
      const deadFailures = dead.failuresByClass.refused + dead.failuresByClass.reset + dead.failuresByClass.timeout;
      ensure(
        deadFailures > 0 || dead.state !== 'CLOSED' || dead.probeFailures > 0,
        `${dead.name} was never found dead`,
      );
      return s.endpoints
        .map(
          (e) =>
            `${e.name}: ${e.state}, ${e.successes} ok, ${e.failures} failed (${
              Object.entries(e.failuresByClass)
                .filter(([, v]) => v > 0)
                .map(([k, v]) => `${k} ${v}`)
                .join(', ') || 'none'
            })`,
        )
        .join('; ');
    });
  } finally {
    conn?.close();
    await pool.close();
    await supervisor?.shutdown({ drainMs: 100 });
    await cluster?.close();
  }
  process.exitCode = checks.summary();
}

main().catch((err: unknown) => {
  console.error(`the run itself failed: ${redactText(String((err as Error)?.stack ?? err))}`);
  checks.record('the run itself', false, describeError(err));
  process.exit(checks.summary());
});
