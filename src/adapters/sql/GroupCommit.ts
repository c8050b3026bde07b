import { Deferred, Duration, Effect, Either, Exit, Queue, type Scope } from "effect"
import {
  type AppendResult, type ConcurrencyConflict, EventStoreUnavailable, type NewEvent
} from "../../application/ports/EventStore.js"

export interface GroupCommitConfig {
  /** Most appends (callers) that share one transaction. */
  readonly maxBatch: number
  /** How long the first append of a batch waits for company; zero commits at once. */
  readonly maxWait: Duration.DurationInput
}

/** No artificial wait: appends that arrive while a commit is in flight share the next one. */
export const defaultGroupCommit: GroupCommitConfig = { maxBatch: 512, maxWait: Duration.zero }

export interface AppendRequest {
  readonly aggregateId: string
  readonly expectedVersion: number
  readonly events: ReadonlyArray<NewEvent>
}

export type AppendOutcome = Either.Either<AppendResult, ConcurrencyConflict>

type Outcome = Effect.Effect<AppendResult, ConcurrencyConflict | EventStoreUnavailable>

/** An append waiting in the queue and how its caller is resumed (a callback: a Deferred per append cost more than its commit's share). */
type Pending = readonly [AppendRequest, (outcome: Outcome) => void]

/**
 * Commits one batch. `previous` completes once the batch before it has finished (committed or
 * failed, its outcome settled); a commit that depends on that batch's outcome awaits it first, and
 * every commit awaits it before it settles its own, so batches settle in the order they were taken.
 */
export type Commit = (
  batch: ReadonlyArray<AppendRequest>,
  previous: Effect.Effect<void>
) => Effect.Effect<ReadonlyArray<AppendOutcome>, EventStoreUnavailable>

/**
 * Group commit: one writer fiber takes every append waiting in the queue and commits them in one
 * transaction, so they share one fsync. Each caller gets its own outcome; a conflict fails only
 * its own append; a failed transaction fails every append in it, none of which was written.
 *
 * With `inFlight` above 1, the writer takes the next batch while earlier ones are still
 * committing (at most `inFlight` at once), and `commit` decides whether it can start before they
 * finish (docs/adr/0020).
 */
export const make = (
  commit: Commit,
  config: GroupCommitConfig,
  inFlight = 1
): Effect.Effect<(request: AppendRequest) => Effect.Effect<AppendResult, ConcurrencyConflict | EventStoreUnavailable>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Pending>()
    yield* Effect.addFinalizer(() => Queue.shutdown(queue))
    const wait = Duration.decode(config.maxWait)
    const scope = yield* Effect.scope
    const limit = Math.max(1, inFlight)
    const slots = yield* Effect.makeSemaphore(limit)
    let busy = 0
    let previous = yield* Deferred.make<void>()
    yield* Deferred.succeed(previous, undefined)

    const settle = (batch: ReadonlyArray<Pending>, exit: Exit.Exit<ReadonlyArray<AppendOutcome>, EventStoreUnavailable>) =>
      Effect.sync(() => {
        if (Exit.isFailure(exit)) {
          const failed = Effect.failCause(exit.cause)
          for (const [, resume] of batch) resume(failed)
          return
        }
        batch.forEach(([, resume], i) => {
          const outcome = exit.value[i]
          resume(
            outcome === undefined
              ? Effect.fail(new EventStoreUnavailable({ reason: "group commit returned no outcome" }))
              : Either.isLeft(outcome)
              ? Effect.fail(outcome.left)
              : Effect.succeed(outcome.right)
          )
        })
      })

    const writeOnce = Effect.gen(function*() {
      // a free slot first, so a batch gathers everything that arrived while the slots were taken
      yield* slots.take(1)
      const first = yield* Queue.take(queue)
      if (Duration.greaterThan(wait, Duration.zero)) yield* Effect.sleep(wait)
      // with free slots left, a share of the waiting appends: the rest go in the next batch at once,
      // so the two overlap instead of every writer waiting on one large commit
      const free = limit - ++busy
      const share = Math.ceil(((yield* Queue.size(queue)) + 1) / (free + 1))
      const rest = yield* Queue.takeUpTo(queue, Math.max(0, Math.min(config.maxBatch, share) - 1))
      const batch = [first, ...rest]
      const before = previous
      const finished = yield* Deferred.make<void>()
      previous = finished
      yield* Effect.exit(commit(batch.map(([request]) => request), Deferred.await(before))).pipe(
        // settled after the batch before, whatever happened to either
        Effect.flatMap((exit) => Effect.zipRight(Deferred.await(before), settle(batch, exit))),
        Effect.ensuring(Effect.zipRight(Deferred.succeed(finished, undefined), Effect.suspend(() => {
          busy--
          return slots.release(1)
        }))),
        // a commit that started settles its callers, even while the store is being closed
        Effect.uninterruptible,
        Effect.forkIn(scope)
      )
    })
    yield* Effect.forkScoped(Effect.forever(writeOnce))

    // an append whose caller is interrupted while it waits still commits; its outcome goes nowhere
    return (request) =>
      Effect.async<AppendResult, ConcurrencyConflict | EventStoreUnavailable>((resume) => {
        if (!Queue.unsafeOffer(queue, [request, resume])) resume(Effect.fail(new EventStoreUnavailable({ reason: "the store is closed" })))
      })
  })
