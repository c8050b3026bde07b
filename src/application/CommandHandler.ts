import { Context, DateTime, Duration, Effect, Either, Option, Schedule, Schema } from "effect"
import { fold } from "../domain/Decider.js"
import { type Aggregate, decodeEvents, encodeEvent, streamId } from "./Aggregate.js"
import { uuidv7 } from "./Ids.js"
import {
  ConcurrencyConflict, DEFAULT_PAGE_SIZE, EventStore, type EventMetadata, type NewEvent, type RecordedEvent
} from "./ports/EventStore.js"
import { SnapshotStore } from "./ports/SnapshotStore.js"

/** Who sends a command and why: becomes every event's metadata. `commandId` makes it idempotent. */
export type CommandContext = EventMetadata

export class CommandHandlerConfig extends Context.Reference<CommandHandlerConfig>()("ledgerline/CommandHandlerConfig", {
  defaultValue: () => ({
    /** Save a snapshot each time an aggregate's version crosses a multiple of this (0: never). */
    snapshotEvery: 100,
    /** Reloads after a ConcurrencyConflict before the conflict reaches the caller. */
    maxRetries: 5,
    /** First back-off between retries; it doubles, with jitter. */
    retryBase: Duration.millis(2)
  })
}) {}

export interface CommandResult<E> {
  readonly events: ReadonlyArray<E>
  readonly recorded: ReadonlyArray<RecordedEvent>
  /** The aggregate's version after the command. */
  readonly version: number
  /** True when the commandId was seen before: nothing was appended, this is the first result. */
  readonly duplicate: boolean
}

export interface Loaded<S> {
  readonly state: S
  readonly version: number
}

/** Fills in what a caller left out of the command context: a fresh commandId, "system" as the user. */
export const commandContext = (given: Partial<CommandContext> = {}): Effect.Effect<CommandContext> =>
  Effect.gen(function*() {
    const commandId = given.commandId ?? (yield* uuidv7)
    return {
      commandId,
      userId: given.userId ?? "system",
      correlationId: given.correlationId ?? commandId,
      causationId: given.causationId ?? commandId
    }
  })

const readStream = (stream: string, fromVersion: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const all: Array<RecordedEvent> = []
    let next = fromVersion
    for (;;) {
      const page = yield* store.getEvents(stream, { fromVersion: next, limit: DEFAULT_PAGE_SIZE })
      all.push(...page)
      if (page.length < DEFAULT_PAGE_SIZE) return all
      next += page.length
    }
  })

/** Current state: the latest usable snapshot, then only the events after it. */
export const load = <C, S, E extends { readonly _tag: string }, R>(aggregate: Aggregate<C, S, E, R>) =>
  (id: string) =>
    Effect.gen(function*() {
      const stream = streamId(aggregate, id)
      const snapshots = yield* SnapshotStore
      const snapshot = yield* snapshots.load(stream).pipe(
        Effect.map(Option.filter((s) => s.stateVersion === aggregate.stateVersion)),
        Effect.catchTag("SnapshotStoreUnavailable", (e) =>
          Effect.logWarning("snapshot unavailable; folding the whole stream", e).pipe(Effect.as(Option.none())))
      )
      const start: Loaded<S> = yield* Option.match(snapshot, {
        onNone: () => Effect.succeed({ state: aggregate.decider.initialState, version: 0 }),
        onSome: (s) =>
          Schema.decodeUnknown(aggregate.state)(s.state).pipe(
            Effect.map((state) => ({ state, version: s.version })),
            Effect.orDie
          )
      })
      const tail = yield* readStream(stream, start.version + 1)
      const events = yield* decodeEvents(aggregate, tail)
      return { state: fold(aggregate.decider)(events, start.state), version: start.version + tail.length }
    })

/**
 * The generic command handler: load, decide, append at the loaded version. On a conflict it
 * reloads and decides again (bounded, jittered back-off). A repeated commandId returns the first
 * result and appends nothing. Refusals the decider records (a rejected order) are appended and the
 * command still fails with the rejection.
 */
export const handler = <C extends { readonly _tag: string }, S, E extends { readonly _tag: string }, R>(
  aggregate: Aggregate<C, S, E, R>
) => {
  const loadAggregate = load(aggregate)
  const decider = aggregate.decider

  const append = (stream: string, version: number, events: ReadonlyArray<E>, context: CommandContext) =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const timestamp = yield* DateTime.now
      const envelopes: Array<NewEvent> = []
      for (const event of events) {
        const encoded = yield* encodeEvent(aggregate, event)
        envelopes.push({ ...encoded, eventId: yield* uuidv7, timestamp, metadata: context })
      }
      return yield* store.appendEvents(stream, version, envelopes)
    })

  const snapshotIfDue = (stream: string, before: number, after: number, state: () => S) =>
    Effect.gen(function*() {
      const { snapshotEvery } = yield* CommandHandlerConfig
      if (snapshotEvery <= 0 || Math.floor(before / snapshotEvery) === Math.floor(after / snapshotEvery)) return
      const encoded = yield* Schema.encode(aggregate.state)(state()).pipe(Effect.orDie)
      const snapshots = yield* SnapshotStore
      yield* snapshots.save({
        aggregateId: stream, version: after, stateVersion: aggregate.stateVersion, state: encoded, takenAt: yield* DateTime.now
      }).pipe(Effect.catchTag("SnapshotStoreUnavailable", (e) => Effect.logWarning("snapshot not saved", e)))
    })

  const attempt = (id: string, command: C, context: CommandContext) =>
    Effect.gen(function*() {
      const stream = streamId(aggregate, id)
      const store = yield* EventStore
      // the idempotency lookup and the load are independent reads: one round trip's wait, not two
      const [previous, loaded] = yield* Effect.all([store.findByCommand(stream, context.commandId), loadAggregate(id)], {
        concurrency: 2
      })
      if (previous.length > 0) {
        const events = yield* decodeEvents(aggregate, previous)
        const refusal = decider.recordedRejection?.(events)
        if (refusal !== undefined) return yield* Effect.fail(refusal)
        return { events, recorded: previous, version: previous[previous.length - 1]!.version, duplicate: true }
      }
      const decision = decider.decide(command, loaded.state)
      if (Either.isLeft(decision)) {
        const facts = decider.recordRejection?.(command, loaded.state, decision.left) ?? []
        if (facts.length > 0) yield* append(stream, loaded.version, facts, context)
        return yield* Effect.fail(decision.left)
      }
      const events = decision.right
      const appended = yield* append(stream, loaded.version, events, context)
      yield* snapshotIfDue(stream, loaded.version, appended.nextVersion, () => fold(decider)(events, loaded.state))
      return { events, recorded: appended.events, version: appended.nextVersion, duplicate: false }
    })

  return (id: string, command: C, context: CommandContext) =>
    Effect.gen(function*() {
      const config = yield* CommandHandlerConfig
      const retry = Schedule.exponential(config.retryBase).pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(config.maxRetries)))
      const result: CommandResult<E> = yield* attempt(id, command, context).pipe(
        Effect.retry({ schedule: retry, while: (e) => e instanceof ConcurrencyConflict })
      )
      return result
    }).pipe(Effect.withSpan(`${aggregate.name}.${command._tag}`, { attributes: { aggregateId: id, commandId: context.commandId } }))
}
