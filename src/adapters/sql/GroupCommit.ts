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

type Pending = readonly [AppendRequest, Deferred.Deferred<AppendResult, ConcurrencyConflict | EventStoreUnavailable>]

/**
 * Group commit: one writer fiber takes every append waiting in the queue and commits them in one
 * transaction, so they share one fsync. Each caller gets its own outcome; a conflict fails only
 * its own append; a failed transaction fails every append in it, none of which was written.
 */
export const make = (
  commit: (batch: ReadonlyArray<AppendRequest>) => Effect.Effect<ReadonlyArray<AppendOutcome>, EventStoreUnavailable>,
  config: GroupCommitConfig
): Effect.Effect<(request: AppendRequest) => Effect.Effect<AppendResult, ConcurrencyConflict | EventStoreUnavailable>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = yield* Queue.unbounded<Pending>()
    yield* Effect.addFinalizer(() => Queue.shutdown(queue))
    const wait = Duration.decode(config.maxWait)

    const writeOnce = Effect.gen(function*() {
      const first = yield* Queue.take(queue)
      if (Duration.greaterThan(wait, Duration.zero)) yield* Effect.sleep(wait)
      const rest = yield* Queue.takeUpTo(queue, Math.max(0, config.maxBatch - 1))
      const batch = [first, ...rest]
      const exit = yield* Effect.exit(commit(batch.map(([request]) => request)))
      yield* Exit.match(exit, {
        onFailure: (cause) => Effect.forEach(batch, ([, done]) => Deferred.failCause(done, cause), { discard: true }),
        onSuccess: (outcomes) =>
          Effect.forEach(batch, ([, done], i) => {
            const outcome = outcomes[i]
            return outcome === undefined
              ? Deferred.fail(done, new EventStoreUnavailable({ reason: "group commit returned no outcome" }))
              : Either.match(outcome, { onLeft: (e) => Deferred.fail(done, e), onRight: (r) => Deferred.succeed(done, r) })
          }, { discard: true })
      })
    })
    yield* Effect.forkScoped(Effect.forever(writeOnce))

    return (request) =>
      Effect.gen(function*() {
        const done = yield* Deferred.make<AppendResult, ConcurrencyConflict | EventStoreUnavailable>()
        yield* Queue.offer(queue, [request, done])
        return yield* Deferred.await(done)
      })
  })
