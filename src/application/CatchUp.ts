import { Chunk, Effect, Option, Ref, Stream } from "effect"
import type { RecordedEvent } from "./ports/EventStore.js"

/**
 * A catch-up subscription over any global log: drains pages from `fromPosition`, then drains again
 * on every wake-up. `wakeups` must emit once on subscription (as `SubscriptionRef.changes` does), so
 * an append between the first drain and the subscription cannot be missed.
 */
export const catchUp = <E>(
  readAll: (fromPosition: number, limit: number) => Effect.Effect<ReadonlyArray<RecordedEvent>, E>,
  wakeups: Stream.Stream<unknown>,
  fromPosition: number,
  pageSize = 500
): Stream.Stream<RecordedEvent, E> =>
  Stream.unwrap(Effect.gen(function*() {
    const cursor = yield* Ref.make(fromPosition)
    const drain = Stream.paginateChunkEffect(undefined, () =>
      Effect.gen(function*() {
        const page = yield* readAll(yield* Ref.get(cursor), pageSize)
        const last = page[page.length - 1]
        if (last !== undefined) yield* Ref.set(cursor, last.position + 1)
        return [Chunk.fromIterable(page), page.length === pageSize ? Option.some(undefined) : Option.none()] as const
      }))
    return wakeups.pipe(
      Stream.buffer({ capacity: 1, strategy: "sliding" }),
      Stream.flatMap(() => drain, { concurrency: 1 })
    )
  }))
