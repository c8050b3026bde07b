import { Clock, Context, Data, DateTime, Deferred, Duration, Effect, Either, FiberId, Option, Schedule, Schema } from "effect"
import { fold } from "../domain/Decider.js"
import { type Aggregate, decodeEvents, encodeEvent, streamId } from "./Aggregate.js"
import { cacheOf } from "./AggregateCache.js"
import { exclusive } from "./AggregateLocks.js"
import { lane, Slow } from "./DecisionBatch.js"
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
    retryBase: Duration.millis(2),
    /** Aggregates whose latest state this process keeps for the next command (0: load every time). */
    cacheCapacity: 100_000,
    /**
     * How old a cached state may be when it is only read, not appended to (the market view an order
     * is priced against). Changes made in this process are seen at once; this bounds how late a
     * change another process made is seen.
     */
    readStaleness: Duration.millis(100),
    /**
     * Commands on cached aggregates go through the batched fast lane (DecisionBatch); off, every
     * command runs the full handler on a fiber of its own.
     */
    batchDecisions: true,
    /**
     * Commands in flight in this process at once (per event store); one more is refused at once
     * with CommandsOverloaded (HTTP 503) instead of joining a queue that only grows.
     */
    maxQueuedCommands: 5_000
  })
}) {}

/**
 * More commands are in flight in this process than `CommandHandlerConfig.maxQueuedCommands`: this
 * one was turned away at once, with nothing decided or appended. A queue that only grows answers
 * everyone late and, with every waiting command alive in memory, slows the process down as a
 * whole; a refusal the caller can retry keeps the rest fast (HTTP 503 with Retry-After).
 */
export class CommandsOverloaded extends Data.TaggedError("CommandsOverloaded")<{
  readonly inFlight: number
  readonly limit: number
}> {
  override get message() {
    return `${this.inFlight} commands are in flight, the most this process takes is ${this.limit}; retry`
  }
}

const admissions = new WeakMap<object, { inFlight: number }>()

/**
 * Runs a command if fewer than `maxQueuedCommands` are in flight in this process (per event
 * store), else fails at once with CommandsOverloaded. The handler admits every command; a command
 * that does work before it reaches the handler (the market view of an order) admits itself first,
 * so that work is counted too, and tells the handler (`HandleOptions.admitted`).
 */
export const admitted = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | CommandsOverloaded, R | EventStore> =>
  Effect.contextWithEffect((context: Context.Context<EventStore>): Effect.Effect<A, E | CommandsOverloaded, R> => {
    const store = Context.get(context, EventStore)
    const { maxQueuedCommands } = Context.get(context, CommandHandlerConfig)
    let counter = admissions.get(store)
    if (counter === undefined) {
      counter = { inFlight: 0 }
      admissions.set(store, counter)
    }
    if (counter.inFlight >= maxQueuedCommands) {
      return Effect.fail(new CommandsOverloaded({ inFlight: counter.inFlight, limit: maxQueuedCommands }))
    }
    counter.inFlight++
    const c = counter
    return Effect.ensuring(effect, Effect.sync(() => {
      c.inFlight--
    }))
  })

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
export const commandContext = (given: Partial<CommandContext> = {}): Effect.Effect<CommandContext> => {
  const complete = (commandId: string): CommandContext => ({
    commandId,
    userId: given.userId ?? "system",
    correlationId: given.correlationId ?? commandId,
    causationId: given.causationId ?? commandId
  })
  // a command with its id (every order) costs no step of its own
  return given.commandId === undefined ? Effect.map(uuidv7, complete) : Effect.succeed(complete(given.commandId))
}

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

const cacheFor = (store: object) => Effect.map(CommandHandlerConfig, (config) => cacheOf(store, config.cacheCapacity))

/**
 * Current state for a reader that accepts the staleness bound of `readStaleness`: the cached state
 * while it is that fresh, else the cached state caught up with the events after it (or a full load).
 * Past half the bound, the cached state is answered and caught up in the background.
 */
export const loadRecent = <C, S, E extends { readonly _tag: string }, R>(aggregate: Aggregate<C, S, E, R>) => {
  const loadAggregate = load(aggregate)
  return (id: string) =>
    // the services and the clock in one step each: every order reads its market through here
    Effect.contextWithEffect((services: Context.Context<EventStore>) =>
      Effect.clockWith((clock) => {
        const stream = streamId(aggregate, id)
        const store = Context.get(services, EventStore)
        const { cacheCapacity, readStaleness } = Context.get(services, CommandHandlerConfig)
        const cache = cacheOf(store, cacheCapacity)
        const now = clock.unsafeCurrentTimeMillis()
        const entry = cache.get<S>(stream)
        const refresh = () =>
          (entry === undefined
            ? loadAggregate(id)
            : readStream(stream, entry.version + 1).pipe(
              Effect.flatMap((tail) => decodeEvents(aggregate, tail)),
              Effect.map((events) => ({ state: fold(aggregate.decider)(events, entry.state), version: entry.version + events.length }))
            )).pipe(Effect.tap((loaded) => Effect.sync(() => cache.set(stream, { ...loaded, confirmedAt: now }))))
        const bound = Duration.toMillis(readStaleness)
        if (entry !== undefined && now - entry.confirmedAt <= bound) {
          const recent: Loaded<S> = { state: entry.state, version: entry.version }
          // past half its bound the state is refreshed in the background: a steady flow of readers
          // (the orders on a market) then finds it fresh instead of one in every few waiting for a read
          return now - entry.confirmedAt > bound / 2 && !refreshing(store, stream)
            ? Effect.as(Effect.forkDaemon(Effect.ignore(singleFlight(store, stream, refresh()))), recent)
            : Effect.succeed(recent)
        }
        return singleFlight(store, stream, refresh())
      }))
}

const inFlight = new WeakMap<object, Map<string, Deferred.Deferred<unknown, unknown>>>()

const refreshing = (owner: object, key: string) => inFlight.get(owner)?.has(key) === true

/**
 * Readers of one aggregate that find its cached state too old at the same moment share one
 * refresh: a market's view expires for every order at once, and without this each order in flight
 * would read the market's tail.
 */
const singleFlight = <A, E, R>(owner: object, key: string, refresh: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => {
    let table = inFlight.get(owner)
    if (table === undefined) {
      table = new Map()
      inFlight.set(owner, table)
    }
    const running = table.get(key) as Deferred.Deferred<A, E> | undefined
    if (running !== undefined) return Deferred.await(running)
    const done = Deferred.unsafeMake<A, E>(FiberId.none)
    table.set(key, done as Deferred.Deferred<unknown, unknown>)
    const map = table
    return refresh.pipe(
      Effect.exit,
      Effect.tap((exit) => Effect.sync(() => map.delete(key)).pipe(Effect.zipRight(Deferred.done(done, exit)))),
      Effect.flatten,
      Effect.uninterruptible
    )
  })

/** A refusal was decided on a cached state: decide again on the store's. */
class StaleCache extends Data.TaggedError("StaleCache") {}

export interface HandleOptions {
  /**
   * The commandId was made just now for this command (no caller gave one), so it cannot have been
   * seen before and the idempotency lookup is skipped.
   */
  readonly freshCommandId?: boolean
  /** The caller already admitted this command (`admitted`): the handler does not count it again. */
  readonly admitted?: boolean
}

/**
 * The generic command handler: load, decide, append at the loaded version. The state comes from
 * this process's cache when it has the aggregate (AggregateCache); on a conflict the entry is
 * dropped, and the handler reloads and decides again (bounded, jittered back-off). A repeated commandId returns the first
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

  const attempt = (id: string, command: C, context: CommandContext, options: HandleOptions) =>
    decideAndAppend(id, command, context, options, true).pipe(
      Effect.catchTag("StaleCache", () => decideAndAppend(id, command, context, options, false)),
      // without the cache the state is the store's own, so StaleCache cannot come a second time
      Effect.catchTag("StaleCache", () => Effect.dieMessage("a refusal decided on a fresh load asked for a reload"))
    )

  const decideAndAppend = (id: string, command: C, context: CommandContext, options: HandleOptions, useCache: boolean) =>
    Effect.gen(function*() {
      const stream = streamId(aggregate, id)
      const store = yield* EventStore
      const cache = yield* cacheFor(store)
      const cached = useCache ? cache.get<S>(stream) : undefined
      const lookup = options.freshCommandId === true ? undefined : store.findByCommand(stream, context.commandId)
      const loading = cached === undefined ? loadAggregate(id) : undefined
      // the idempotency lookup and the load are independent reads: one round trip's wait, not two
      const [previous, loaded]: readonly [ReadonlyArray<RecordedEvent>, Loaded<S>] = lookup !== undefined && loading !== undefined
        ? yield* Effect.all([lookup, loading], { concurrency: 2 })
        : [lookup === undefined ? [] : yield* lookup, loading === undefined ? cached! : yield* loading]
      if (previous.length > 0) {
        const events = yield* decodeEvents(aggregate, previous)
        const refusal = decider.recordedRejection?.(events)
        if (refusal !== undefined) return yield* Effect.fail(refusal)
        return { events, recorded: previous, version: previous[previous.length - 1]!.version, duplicate: true }
      }
      const appendAndKeep = (events: ReadonlyArray<E>) =>
        append(stream, loaded.version, events, context).pipe(
          Effect.tapError(() => Effect.sync(() => cache.drop(stream))),
          Effect.tap((appended) =>
            Effect.gen(function*() {
              const state = fold(decider)(events, loaded.state)
              cache.set(stream, { state, version: appended.nextVersion, confirmedAt: yield* Clock.currentTimeMillis })
              yield* snapshotIfDue(stream, loaded.version, appended.nextVersion, () => state)
            }))
        )
      const decision = decider.decide(command, loaded.state)
      if (Either.isLeft(decision)) {
        // a refusal appends nothing that a conflict could catch, so one decided on a cached state
        // is only given once the store confirms that state
        if (loading === undefined) {
          cache.drop(stream)
          return yield* new StaleCache()
        }
        const facts = decider.recordRejection?.(command, loaded.state, decision.left) ?? []
        if (facts.length > 0) yield* appendAndKeep(facts)
        return yield* Effect.fail(decision.left)
      }
      const events = decision.right
      const appended = yield* appendAndKeep(events)
      return { events, recorded: appended.events, version: appended.nextVersion, duplicate: false }
    })

  const fast = lane<C, S, E>({ decider, codec: aggregate.codec, snapshotIfDue })

  const full = (id: string, command: C, context: CommandContext, options: HandleOptions, config: CommandHandlerConfig["Type"], store: EventStore["Type"]) => {
    const retry = Schedule.exponential(config.retryBase).pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(config.maxRetries)))
    const handled = attempt(id, command, context, options).pipe(
      Effect.retry({ schedule: retry, while: (e) => e instanceof ConcurrencyConflict })
    )
    // with the cache on, one command per aggregate at a time in this process (AggregateLocks);
    // with it off (cacheCapacity 0) every command acts as if from a process of its own
    return config.cacheCapacity > 0 ? exclusive(store, streamId(aggregate, id))(handled) : handled
  }

  // one step to read the services, then the lane (or the full handler): a command at trading
  // rates pays for each step it takes before it is decided
  const handle = (id: string, command: C, context: CommandContext, options: HandleOptions) =>
    Effect.contextWithEffect((services: Context.Context<EventStore>) => {
      const config = Context.get(services, CommandHandlerConfig)
      const store = Context.get(services, EventStore)
      if (!config.batchDecisions || config.cacheCapacity <= 0) return full(id, command, context, options, config, store)
      const lookup = options.freshCommandId !== true
      return Effect.flatMap(
        fast.submit(streamId(aggregate, id), command, context, lookup, cacheOf(store, config.cacheCapacity), config.snapshotEvery),
        (decided) => decided === Slow ? full(id, command, context, options, config, store) : Effect.succeed({ ...decided, duplicate: false })
      )
    })

  return (id: string, command: C, context: CommandContext, options: HandleOptions = {}) =>
    options.admitted === true ? handle(id, command, context, options) : admitted(handle(id, command, context, options))
}
