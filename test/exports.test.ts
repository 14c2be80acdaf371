// The package's entries: the library (`palisade`) and the local cluster (`palisade/devnet`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as lib from 'palisade';
import * as devnet from 'palisade/devnet';

test('palisade exports what an embedding process needs, and not the local cluster', () => {
  for (const name of [
    'CircuitBreaker',
    'CircuitBreakerManager',
    'Supervisor',
    'SignalBus',
    'RpcConnectionPool',
    'RpcCallError',
    'RpcCallArgumentError',
    'RpcPoolError',
    'createSolanaConnection',
    'createLogger',
    'loadConfig',
    'getRpcPoolConfig',
    'ConfigError',
    'PalisadeError',
    'ManualClock',
    'PRIORITY_NAMES',
    'FAULT_KINDS',
    'killActor',
  ]) {
    assert.ok(name in lib, `palisade exports ${name}`);
  }
  for (const name of ['startLocalCluster', 'startLocalClusterInWorker', 'LocalChain', 'DEVNET_FAULT_KINDS'])
    assert.ok(!(name in lib), `${name} lives in palisade/devnet`);
});

test('palisade/devnet exports the local cluster, in process and in a worker', () => {
  for (const name of [
    'startLocalCluster',
    'startLocalClusterInWorker',
    'LocalChain',
    'parseFault',
    'DEVNET_FAULT_KINDS',
    'DevnetError',
    'JsonRpcError',
    'SUBSCRIPTION_LIMIT_CODE',
  ]) {
    assert.ok(name in devnet, `palisade/devnet exports ${name}`);
  }
  // The runtime's fault kinds (actor crashes) and the cluster's (provider faults) are different lists.
  assert.ok(lib.FAULT_KINDS.includes('oom'));
  assert.ok(devnet.DEVNET_FAULT_KINDS.includes('node-behind'));
});
