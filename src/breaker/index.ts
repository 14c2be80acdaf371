export {
  CircuitBreaker,
  type BreakerPermit,
  type CircuitBreakerStats,
  type Operation,
  type StateChange,
  type StateChangeListener,
  type TransitionReason,
} from './circuit-breaker.ts';
export {
  CircuitOpenError,
  BulkheadFullError,
  TimeoutError,
  BreakerOptionError,
  type CircuitState,
} from './errors.ts';
export { countAllButCallerErrors, type CircuitBreakerOptions, type FailurePredicate } from './options.ts';
export {
  CircuitBreakerManager,
  type BreakerDefaults,
  type CircuitBreakerManagerOptions,
  type CircuitBreakerManagerStats,
  type ProtectedRpcPool,
  type RpcCallable,
} from './manager.ts';
export { EndpointCircuitManager, type EndpointRef } from './endpoint-manager.ts';
