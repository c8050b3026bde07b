import { Duration, Effect, Either, Exit, Runtime, type Scope } from "effect"
import {
  type AppendResult, type CommandSeen, type ConcurrencyConflict, EventStoreUnavailable, type NewEvent
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
  /** Append only if the aggregate has no event of this command yet, else CommandSeen (`appendIfNewCommand`). */
  readonly newCommand?: string
}

/** Why one append of a batch was refused, the others written. */
export type Refusal = ConcurrencyConflict | CommandSeen

export type AppendOutcome = Either.Either<AppendResult, Refusal>

type Outcome = Effect.Effect<AppendResult, Refusal | EventStoreUnavailable>

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

/** Opens once; what waits on it runs then (a callback each, no fiber). */
interface Gate {
  open: boolean
  waiters: Array<() => void>
}

const openGate = (gate: Gate) => {
  gate.open = true
  const waiting = gate.waiters
  gate.waiters = []
  for (const f of waiting) f()
}

const onOpen = (gate: Gate, f: () => void) => {
  if (gate.open) f()
  else gate.waiters.push(f)
}

const awaitGate = (gate: Gate): Effect.Effect<void> =>
  gate.open ? Effect.void : Effect.async<void>((resume) => onOpen(gate, () => resume(Effect.void)))

const closed = Effect.fail(new EventStoreUnavailable({ reason: "the store is closed" }))

/**
 * Group commit: every append waiting when a commit slot frees up goes into one transaction, so
 * they share one fsync. Each caller gets its own outcome; a refusal fails only its own append; a
 * failed transaction fails every append in it, none of which was written.
 *
 * With `inFlight` above 1, the next batch is taken while earlier ones are still committing (at most
 * `inFlight` at once), and `commit` decides whether it can start before they finish (docs/adr/0020).
 *
 * The bookkeeping is plain callbacks (docs/adr/0026): an append waits on its resume, a batch is
 * taken on a microtask once appends arrived (after `maxWait` if set), so the appends made in one
 * turn of the event loop go together, and each commit runs on a fiber of its own whose exit
 * settles its callers after the batch before it has settled.
 */
export const make = (
  commit: Commit,
  config: GroupCommitConfig,
  inFlight = 1
): Effect.Effect<(request: AppendRequest) => Effect.Effect<AppendResult, Refusal | EventStoreUnavailable>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const runtime = yield* Effect.runtime<never>()
    const wait = Duration.toMillis(Duration.decode(config.maxWait))
    const limit = Math.max(1, inFlight)
    let pending: Array<Pending> = []
    let busy = 0
    let scheduled = false
    let shut = false
    /** Opens when the last batch taken has settled. */
    let previous: Gate = { open: true, waiters: [] }
    /** Opens when nothing is committing any more, once the store is closing. */
    const idle: Gate = { open: false, waiters: [] }

    const settle = (batch: ReadonlyArray<Pending>, exit: Exit.Exit<ReadonlyArray<AppendOutcome>, EventStoreUnavailable>) => {
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
    }

    const take = () => {
      scheduled = false
      while (!shut && busy < limit && pending.length > 0) {
        // with free slots left, a share of the waiting appends: the rest go in the next batch at
        // once, so the two overlap instead of every writer waiting on one large commit
        const free = limit - ++busy
        const share = Math.max(1, Math.min(config.maxBatch, Math.ceil(pending.length / (free + 1))))
        const batch = pending.length <= share ? pending : pending.slice(0, share)
        pending = pending.length <= share ? [] : pending.slice(share)
        const before = previous
        const finished: Gate = { open: false, waiters: [] }
        previous = finished
        // a commit that started settles its callers, even while the store is being closed
        Runtime.runCallback(runtime)(Effect.uninterruptible(Effect.exit(commit(batch.map(([request]) => request), awaitGate(before)))), {
          onExit: (outer) =>
            // settled after the batch before, whatever happened to either
            onOpen(before, () => {
              try {
                settle(batch, Exit.isSuccess(outer) ? outer.value : Exit.failCause(outer.cause))
              } finally {
                openGate(finished)
                busy--
                if (shut && busy === 0) openGate(idle)
                kick()
              }
            })
        })
      }
    }

    const kick = () => {
      if (scheduled || shut || busy >= limit || pending.length === 0) return
      scheduled = true
      if (wait > 0) setTimeout(take, wait)
      else queueMicrotask(take)
    }

    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        shut = true
        const left = pending
        pending = []
        for (const [, resume] of left) resume(closed)
        if (busy === 0) openGate(idle)
        return awaitGate(idle)
      }))

    // an append whose caller is interrupted while it waits still commits; its outcome goes nowhere
    return (request) =>
      Effect.async<AppendResult, Refusal | EventStoreUnavailable>((resume) => {
        if (shut) return resume(closed)
        pending.push([request, resume])
        kick()
      })
  })
