import { Chunk, Effect, Option, Stream } from "effect"
import type { RecordedEvent } from "./ports/EventStore.js"
import type { Wakeup } from "./Wakeup.js"

/** Events per read of a catch-up subscription: a page this long means the reader is behind. */
export const PAGE_SIZE = 500

/**
 * A catch-up subscription over any global log: reads pages from `fromPosition` while they come
 * full, then waits for the wake-up (a commit, or its poll) and reads again. One pull is one read
 * and, when the log is drained, one wait: no stream of wake-ups merged, buffered and flattened per
 * commit (docs/adr/0026). A read that finds nothing waits again; a page is never emitted empty.
 */
export const catchUp = <E>(
  readAll: (fromPosition: number, limit: number) => Effect.Effect<ReadonlyArray<RecordedEvent>, E>,
  wakeup: Wakeup,
  fromPosition: number,
  pageSize = PAGE_SIZE
): Stream.Stream<RecordedEvent, E> =>
  Stream.suspend(() => {
    let cursor = fromPosition
    // the generation read before the last read: a commit after it wakes the next wait at once
    let seen = 0
    let drained = false
    const read: Effect.Effect<Chunk.Chunk<RecordedEvent>, Option.Option<E>> = Effect.suspend(() => {
      seen = wakeup.generation()
      return Effect.flatMap(Effect.mapError(readAll(cursor, pageSize), Option.some), (page) => {
        drained = page.length < pageSize
        const last = page[page.length - 1]
        if (last === undefined) return next
        cursor = last.position + 1
        return Effect.succeed(Chunk.unsafeFromArray(page as Array<RecordedEvent>))
      })
    })
    const next: Effect.Effect<Chunk.Chunk<RecordedEvent>, Option.Option<E>> = Effect.suspend(() =>
      drained ? Effect.zipRight(wakeup.wait(seen), read) : read)
    return Stream.repeatEffectChunkOption(next)
  })
