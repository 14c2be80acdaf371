/**
 * A generic actor for fault injection (scripts/fault/inject.ts, demos): it records every
 * execution of a message in shared memory, so a run can check from the worker's side that
 * nothing reported as processed was skipped and count re-executions after crashes.
 *
 * init({ executions }): executions is a SharedArrayBuffer of Int32, one slot per message id.
 * Messages: { id, work: 'sync' | 'async' | 'poison' }. 'async' awaits a short timer (so crashes
 * find messages in flight); 'poison' crashes the worker every time it is delivered.
 */
let executions: Int32Array | null = null;

export function init(data: { executions: SharedArrayBuffer }): void {
  executions = new Int32Array(data.executions);
}

export default function handle(msg: { id: number; work: 'sync' | 'async' | 'poison' }): number | Promise<number> {
  if (executions) Atomics.add(executions, msg.id, 1);
  if (msg.work === 'poison') process.exit(9);
  if (msg.work === 'async') return new Promise((r) => setTimeout(() => r(msg.id), 1));
  return msg.id;
}
