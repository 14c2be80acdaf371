export { SignalBus, type SignalBusOptions, type CloseOptions } from './signal-bus.ts';
export { SignalBusError, type SignalBusErrorCode } from './errors.ts';
export { WORKER_CREDIT } from './worker-subscriber.ts';
export {
  DROP_REASONS,
  PRIORITY_NAMES,
  type Priority,
  type DropReason,
  type SignalEvent,
  type InlineHandler,
  type WorkerHandlerSpec,
  type QuarantineOptions,
  type SubscribeOptions,
  type TopicOptions,
  type Subscription,
  type SubscriberState,
  type SubscriberStats,
  type TopicStats,
  type SignalBusStats,
} from './types.ts';
