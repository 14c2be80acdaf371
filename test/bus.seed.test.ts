// The seed's four signal-bus tests, run as written (real timers: they wait 100–200 ms).
import { test } from 'node:test';
import { SEED_TESTS } from './fixtures/bus/seed-tests.ts';

for (const [name, fn] of SEED_TESTS) test(name, fn);
