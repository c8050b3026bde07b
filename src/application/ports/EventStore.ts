import { Context, type DateTime, type Effect, type Option, Schema, type Stream } from "effect"

/** Who and what caused an event: kept with every event for the audit trail. */
export const EventMetadata = Schema.Struct({
  userId: Schema.String,
  correlationId: Schema.String,
  causationId: Schema.String,
  commandId: Schema.String
})
export type EventMetadata = typeof EventMetadata.Type

/** An event on its way into the store. The store keeps `data` as opaque bytes (the application's Avro). */
export interface NewEvent {
  readonly eventId: string
  readonly type: string
  /** Version of the schema `data` was written with; readers resolve it to the current one. */
  readonly schemaVersion: number
  readonly timestamp: DateTime.Utc
  readonly data: Uint8Array
  readonly metadata: EventMetadata
}

/** An event as stored: the envelope of the brief plus its stream version, global position and chain link. */
export interface RecordedEvent extends NewEvent {
  readonly aggregateId: string
  /** 1-based, dense within the aggregate. */
  readonly version: number
  /** 1-based, dense, in global commit order across all aggregates. */
  readonly position: number
  /** SHA-256 (hex) chaining this event to the one at the previous position (HashChain.link). */
  readonly hash: string
}

/** A position of the global log and the chain hash there (position 0 is the genesis link). */
export interface ChainLink {
  readonly position: number
  readonly hash: string
}

export interface AppendResult {
  readonly nextVersion: number
  readonly events: ReadonlyArray<RecordedEvent>
}

export interface EventPage {
  readonly events: ReadonlyArray<RecordedEvent>
  /** Pass back as `after` for the next page; none when this page was the last. */
  readonly cursor: Option.Option<string>
}

export class ConcurrencyConflict extends Schema.TaggedError<ConcurrencyConflict>()("ConcurrencyConflict", {
  aggregateId: Schema.String,
  expectedVersion: Schema.Number,
  actualVersion: Schema.Number
}) {
  get code() { return "CONCURRENCY_CONFLICT" as const }
  override get message() {
    return `${this.aggregateId} is at version ${this.actualVersion}, not the expected ${this.expectedVersion}`
  }
}

/** An append refused because its aggregate already has an event of the same command (`appendIfNewCommand`). */
export class CommandSeen extends Schema.TaggedError<CommandSeen>()("CommandSeen", {
  aggregateId: Schema.String,
  commandId: Schema.String
}) {
  override get message() {
    return `${this.aggregateId} already has the events of command ${this.commandId}`
  }
}

export class EventStoreUnavailable extends Schema.TaggedError<EventStoreUnavailable>()("EventStoreUnavailable", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** A command as the idempotency check knows it: the aggregate it acted on and its commandId. */
export interface CommandKey {
  readonly aggregateId: string
  readonly commandId: string
}

export class EventStore extends Context.Tag("ledgerline/EventStore")<EventStore, {
  /** Appends atomically and in order if the aggregate is still at `expectedVersion` (0: no events yet). */
  readonly appendEvents: (
    aggregateId: string,
    expectedVersion: number,
    events: ReadonlyArray<NewEvent>
  ) => Effect.Effect<AppendResult, ConcurrencyConflict | EventStoreUnavailable>
  /**
   * `appendEvents` for one command's events (at least one; they share its commandId), only if the
   * aggregate has no event of that command yet: else it fails with CommandSeen and writes nothing.
   * The idempotency check made in the commit itself, not in a read before it (docs/adr/0029). A
   * store without it is checked with `commandsSeen` first (DecisionBatch).
   */
  readonly appendIfNewCommand?: (
    aggregateId: string,
    expectedVersion: number,
    events: ReadonlyArray<NewEvent>
  ) => Effect.Effect<AppendResult, ConcurrencyConflict | CommandSeen | EventStoreUnavailable>
  /** One page of an aggregate's events from `fromVersion` (inclusive, default 1), in version order. */
  readonly getEvents: (
    aggregateId: string,
    options?: { readonly fromVersion?: number; readonly limit?: number }
  ) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreUnavailable>
  /** One page of events of a type with fromTimestamp <= timestamp < toTimestamp, in commit order. */
  readonly getEventsByType: (
    type: string,
    options?: {
      readonly fromTimestamp?: DateTime.Utc
      readonly toTimestamp?: DateTime.Utc
      readonly after?: string
      readonly limit?: number
    }
  ) => Effect.Effect<EventPage, EventStoreUnavailable>
  /** One page of the global log from `fromPosition` (inclusive, default 1), in commit order. */
  readonly readAll: (
    options?: { readonly fromPosition?: number; readonly limit?: number }
  ) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreUnavailable>
  /** The events an earlier command appended to this aggregate (empty if none): idempotent commands. */
  readonly findByCommand: (
    aggregateId: string,
    commandId: string
  ) => Effect.Effect<ReadonlyArray<RecordedEvent>, EventStoreUnavailable>
  /**
   * Whether each of these commands appended anything to its aggregate, in the same order: the
   * idempotency check of a batch of commands in one read (DecisionBatch).
   */
  readonly commandsSeen: (
    keys: ReadonlyArray<CommandKey>
  ) => Effect.Effect<ReadonlyArray<boolean>, EventStoreUnavailable>
  /** The last committed position and its link; none while the log is empty. */
  readonly head: Effect.Effect<Option.Option<ChainLink>, EventStoreUnavailable>
  /**
   * The link verification starts from: the genesis link (position 0), or, once a retention purge
   * removed a prefix of the log, the last purged position and its hash.
   */
  readonly chainStart: Effect.Effect<ChainLink, EventStoreUnavailable>
  /** The global log from `fromPosition` (inclusive), caught up and then live; it never ends by itself. */
  readonly subscribe: (fromPosition: number) => Stream.Stream<RecordedEvent, EventStoreUnavailable>
}>() {}

export const DEFAULT_PAGE_SIZE = 1000
