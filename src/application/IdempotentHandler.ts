import { Effect } from "effect"
import { ConsumerCheckpoints } from "./ports/ConsumerCheckpoints.js"

/** What identifies an event for idempotence: its aggregate and its (dense, 1-based) version there. */
export interface Versioned {
  readonly aggregateId: string
  readonly version: number
}

/**
 * Makes a handler of an at-least-once delivery idempotent by (aggregateId, version), per consumer:
 * an event at or below the highest version already applied to its aggregate is skipped; otherwise
 * it is handled and its version saved. Relies on each aggregate's events arriving in version order
 * (the publisher never sends version n+1 before n was accepted, and Kinesis keeps a partition key's
 * order), so a redelivery is always of a version already applied. Handling and saving are two
 * steps: a crash between them applies that one event again, so side effects should tolerate it
 * (or share a transaction with the save). Answers whether the event was applied.
 */
export const applyOnce = <A extends Versioned, E, R>(consumer: string, handle: (event: A) => Effect.Effect<void, E, R>) =>
  (event: A) =>
    Effect.gen(function*() {
      const checkpoints = yield* ConsumerCheckpoints
      const applied = yield* checkpoints.appliedVersion(consumer, event.aggregateId)
      if (event.version <= applied) return false
      yield* handle(event)
      yield* checkpoints.saveAppliedVersion(consumer, event.aggregateId, event.version)
      return true
    })
