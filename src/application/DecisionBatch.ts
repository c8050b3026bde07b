import { Cause, Context, DateTime, Effect, Either, Exit, Runtime } from "effect"
import type { Decider } from "../domain/Decider.js"
import type { EventCodec } from "./Aggregate.js"
import type { AggregateCache, Entry } from "./AggregateCache.js"
import { tryHold, unhold } from "./AggregateLocks.js"
import type { EncodedEvent } from "./avro/EventCodec.js"
import { uuidv7s } from "./Ids.js"
import {
  CommandSeen, ConcurrencyConflict, type EventMetadata, EventStore, type EventStoreUnavailable, type NewEvent, type RecordedEvent
} from "./ports/EventStore.js"
import type { SnapshotStore } from "./ports/SnapshotStore.js"

/**
 * The command path's fast lane (docs/adr/0021). Commands on aggregates this process has cached
 * are gathered while the event loop is busy and handled together: one fiber per batch decides
 * each command on its cached state with the same pure `decide`, encodes the events and sends
 * every append to the store at once (which commits them together, GroupCommit). A caller's
 * commandId (one made just now cannot have been seen) is checked by the commit itself where the
 * store can (`appendIfNewCommand`, docs/adr/0029), else looked up for the whole batch in one read
 * first. A caller waits on a callback, not on a fiber of its own steps.
 *
 * Whatever the fast lane does not take is handed back to the caller, who runs the full handler
 * (`Slow`): an aggregate that is not cached or that another command holds, a commandId seen
 * before, found by the read or refused by the commit (the handler answers it with the first
 * result), a refusal (decided on a cached state, so the handler confirms it on the store's), a
 * decision with no events, and an append that met a ConcurrencyConflict (another process moved
 * the aggregate: the handler reloads and retries). The same one-writer-per-aggregate rule holds: the lane takes an aggregate's turn
 * (AggregateLocks) without waiting, and gives it back once the append has settled.
 */

/** The caller should run the full handler: nothing was appended for it. */
export const Slow = Symbol.for("ledgerline/DecisionBatch/Slow")
export type Slow = typeof Slow

export interface Decided<E> {
  readonly events: ReadonlyArray<E>
  readonly recorded: ReadonlyArray<RecordedEvent>
  readonly version: number
}

type Outcome<E> = Effect.Effect<Decided<E> | Slow, EventStoreUnavailable>

interface Submission<C, E> {
  readonly stream: string
  readonly command: C
  readonly context: EventMetadata
  /** The commandId is the caller's: look it up before deciding (else it was made just now). */
  readonly lookup: boolean
  readonly cache: AggregateCache
  readonly snapshotEvery: number
  readonly resume: (outcome: Outcome<E>) => void
  /** This submission holds its aggregate's turn (AggregateLocks). */
  holding: boolean
}

interface Accepted<C, S, E> {
  readonly submission: Submission<C, E>
  readonly state: S
  readonly version: number
  readonly events: ReadonlyArray<E>
  readonly envelopes: ReadonlyArray<NewEvent>
}

export interface Lane<C, E> {
  /** Hands the command to this store's lane; answers its outcome, or Slow. */
  readonly submit: (
    stream: string,
    command: C,
    context: EventMetadata,
    lookup: boolean,
    cache: AggregateCache,
    snapshotEvery: number
  ) => Effect.Effect<Decided<E> | Slow, EventStoreUnavailable, EventStore | SnapshotStore>
}

const slow = Effect.succeed(Slow)

/**
 * Commands decided in one go. A batch decides and encodes synchronously (about 40 µs an order), so
 * this bounds how long it holds the event loop (about 10 ms); more waiting go in the next batch.
 */
export const MOST_PER_BATCH = 256

/** What the lanes of one event store did: batches run and commands appended through them (for tests and benchmarks). */
export interface LaneCounts {
  batches: number
  appended: number
}

const counts = new WeakMap<object, LaneCounts>()

export const laneCounts = (owner: object): LaneCounts => {
  let c = counts.get(owner)
  if (c === undefined) {
    c = { batches: 0, appended: 0 }
    counts.set(owner, c)
  }
  return c
}

export const lane = <C, S, E>(options: {
  readonly decider: Pick<Decider<C, S, E, unknown>, "decide" | "evolve">
  readonly codec: EventCodec<E>
  /** Saves a snapshot if the version crossed a multiple of `snapshotEvery` (never fails). */
  readonly snapshotIfDue: (stream: string, before: number, after: number, state: () => S) => Effect.Effect<void, never, SnapshotStore>
}): Lane<C, E> => {
  const { codec, decider, snapshotIfDue } = options

  interface Queue {
    pending: Array<Submission<C, E>>
    runtime: Runtime.Runtime<EventStore | SnapshotStore> | undefined
  }
  // one queue per event-store instance, as the cache and the locks
  const queues = new WeakMap<object, Queue>()

  const hold = (store: object, submission: Submission<C, E>) => (submission.holding = tryHold(store, submission.stream))
  const release = (store: object, submission: Submission<C, E>) => {
    if (!submission.holding) return
    submission.holding = false
    unhold(store, submission.stream)
  }

  /**
   * An append's outcome, on the callback its commit calls: the cache, the aggregate's turn and the
   * caller, with no step of its own unless a snapshot is due (which is saved before the caller is
   * answered, as on the full handler's path).
   */
  const settle = (
    store: EventStore["Type"],
    runtime: Runtime.Runtime<SnapshotStore>,
    confirmedAt: number,
    accepted: Accepted<C, S, E>,
    exit: Exit.Exit<
      { readonly nextVersion: number; readonly events: ReadonlyArray<RecordedEvent> },
      ConcurrencyConflict | CommandSeen | EventStoreUnavailable
    >
  ) => {
    const { submission } = accepted
    const { cache, stream } = submission
    if (Exit.isFailure(exit)) {
      cache.drop(stream)
      release(store, submission)
      const refused = Cause.failureOption(exit.cause)
      submission.resume(
        refused._tag === "Some" && (refused.value instanceof ConcurrencyConflict || refused.value instanceof CommandSeen)
          ? slow
          : Effect.failCause(exit.cause as Cause.Cause<EventStoreUnavailable>)
      )
      return
    }
    const appended = exit.value
    laneCounts(store).appended++
    let state = accepted.state
    try {
      for (const event of accepted.events) state = decider.evolve(state, event)
    } catch (defect) {
      // an evolve that throws is a bug: the events are stored, so the cached state is dropped and
      // this caller dies, as it would on the full handler's path
      cache.drop(stream)
      release(store, submission)
      submission.resume(Effect.die(defect))
      return
    }
    cache.set(stream, { state, version: appended.nextVersion, confirmedAt })
    const answer = () => {
      release(store, submission)
      submission.resume(Effect.succeed({ events: accepted.events, recorded: appended.events, version: appended.nextVersion }))
    }
    const every = submission.snapshotEvery
    if (every > 0 && Math.floor(accepted.version / every) !== Math.floor(appended.nextVersion / every)) {
      const saved = state
      Runtime.runCallback(runtime)(snapshotIfDue(stream, accepted.version, appended.nextVersion, () => saved), { onExit: answer })
    } else {
      answer()
    }
  }

  /** Decides every submission it can, then appends them all at once; resumes each caller. */
  const run = (store: EventStore["Type"], batch: ReadonlyArray<Submission<C, E>>, runtime: Runtime.Runtime<EventStore | SnapshotStore>) =>
    Effect.gen(function*() {
      laneCounts(store).batches++
      const timestamp = yield* DateTime.now
      const held: Array<readonly [Submission<C, E>, Entry<S>]> = []
      for (const submission of batch) {
        const cached = submission.cache.get<S>(submission.stream)
        if (cached === undefined || !hold(store, submission)) submission.resume(slow)
        else held.push([submission, cached])
      }
      // the idempotency check of every caller's commandId: in the commit, or else in one read
      // first; a command seen before goes to the full handler, which answers it with the first result
      const appendIfNew = store.appendIfNewCommand
      const keyed = appendIfNew === undefined ? held.filter(([submission]) => submission.lookup) : []
      const seen = new Set<Submission<C, E>>()
      if (keyed.length > 0) {
        const found = yield* Effect.either(store.commandsSeen(keyed.map(([s]) => ({ aggregateId: s.stream, commandId: s.context.commandId }))))
        keyed.forEach(([submission], i) => {
          if (Either.isRight(found) && found.right[i] !== true) return
          seen.add(submission)
          release(store, submission)
          submission.resume(Either.isLeft(found) ? Effect.fail(found.left) : slow)
        })
      }
      const decided: Array<Omit<Accepted<C, S, E>, "envelopes">> = []
      const encoded: Array<ReadonlyArray<EncodedEvent>> = []
      for (const [submission, cached] of held) {
        if (seen.has(submission)) continue
        try {
          const decision = decider.decide(submission.command, cached.state)
          if (Either.isLeft(decision) || decision.right.length === 0) {
            release(store, submission)
            submission.resume(slow)
            continue
          }
          encoded.push(decision.right.map((event) => codec.encode(event)))
          decided.push({ submission, state: cached.state, version: cached.version, events: decision.right })
        } catch (defect) {
          // a decider or codec that throws is a bug: this command dies, the others go on
          release(store, submission)
          submission.resume(Effect.die(defect))
        }
      }
      const eventIds = yield* uuidv7s(encoded.reduce((n, events) => n + events.length, 0))
      let next = 0
      const accepted = decided.map((d, i): Accepted<C, S, E> => ({
        ...d,
        envelopes: encoded[i]!.map((e): NewEvent => ({
          type: e.type, schemaVersion: e.schemaVersion, data: e.data, eventId: eventIds[next++]!, timestamp, metadata: d.submission.context
        }))
      }))
      // each append on a fiber of its own (with the batch's runtime), not a child of this one:
      // nothing waits to join them, and each settles on its commit's callback (its state is
      // confirmed as of this batch's start)
      const confirmedAt = DateTime.toEpochMillis(timestamp)
      for (const a of accepted) {
        const append = a.submission.lookup && appendIfNew !== undefined ? appendIfNew : store.appendEvents
        Runtime.runCallback(runtime)(append(a.submission.stream, a.version, a.envelopes), {
          onExit: (exit) => settle(store, runtime, confirmedAt, a, exit)
        })
      }
    })

  const start = (store: EventStore["Type"], queue: Queue) => {
    const runtime = queue.runtime!
    let batch: ReadonlyArray<Submission<C, E>>
    if (queue.pending.length <= MOST_PER_BATCH) {
      batch = queue.pending
      queue.pending = []
      queue.runtime = undefined
    } else {
      // the rest after the event loop has had its turn (I/O, settled commits), with the same runtime
      batch = queue.pending.splice(0, MOST_PER_BATCH)
      setImmediate(() => start(store, queue))
    }
    Runtime.runCallback(runtime)(run(store, batch, runtime), {
      onExit: (exit) => {
        // a batch that failed as a whole (it should not) must still give back every turn it took
        // and answer every caller; a caller already answered ignores a second answer
        if (Exit.isFailure(exit)) {
          for (const s of batch) {
            release(store, s)
            s.resume(Effect.die(Cause.squash(exit.cause)))
          }
        }
      }
    })
  }

  return {
    // one step: the store and, for the fiber that starts a batch, a runtime to run it with, come
    // from the submitting fiber itself
    submit: (stream, command, context, lookup, cache, snapshotEvery) =>
      Effect.withFiberRuntime<Decided<E> | Slow, EventStoreUnavailable, EventStore | SnapshotStore>((fiber, status) => {
        const services = fiber.currentContext as Context.Context<EventStore | SnapshotStore>
        const store = Context.get(services, EventStore)
        return Effect.async<Decided<E> | Slow, EventStoreUnavailable>((resume) => {
          let queue = queues.get(store)
          if (queue === undefined) {
            queue = { pending: [], runtime: undefined }
            queues.set(store, queue)
          }
          let answered = false
          const q = queue
          queue.pending.push({
            stream, command, context, lookup, cache, snapshotEvery, holding: false,
            resume: (outcome) => {
              if (answered) return
              answered = true
              resume(outcome)
            }
          })
          if (queue.runtime === undefined) {
            // the batch is what arrived until the event loop had nothing else to run
            queue.runtime = Runtime.make({ context: services, fiberRefs: fiber.getFiberRefs(), runtimeFlags: status.runtimeFlags })
            setImmediate(() => start(store, q))
          }
        })
      })
  }
}
