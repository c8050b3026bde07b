import { Clock, Duration, Effect, Option, Schedule, Stream } from "effect"
import { applyBatches, checkpoints as storedCheckpoints } from "./Projections.js"
import { EventStore, type RecordedEvent } from "./ports/EventStore.js"
import type { ProjectionName, ReadModelStore } from "./ports/ReadModelStore.js"

/**
 * One delivery of a partitioned copy of the global log (a Kinesis shard's page of records): each
 * partition keeps its aggregates' order, partitions interleave, and a record may come twice.
 */
export interface FeedBatch<E> {
  readonly partition: string
  readonly events: ReadonlyArray<RecordedEvent>
  /** Durably marks the partition as read up to the end of this batch: a restart resumes after it. */
  readonly checkpoint: Effect.Effect<void, E>
}

export interface FeedOptions {
  /** How long a hole in the positions may stay open before it is read from the event store (default 5 s). */
  readonly gapWait?: Duration.DurationInput
  /** Events held ahead of a hole before it is read from the event store at once (default 10 000). */
  readonly maxBuffered?: number
  /** Pause after the feed, the store or the read model failed, before starting over from the checkpoints (default 1 s). */
  readonly retryAfter?: Duration.DurationInput
}

/** Events per commit, as a catch-up from the store. */
const PAGE = 1000

/**
 * Feeds every projection from `feed` until it fails (docs/adr/0015). The read models are
 * checkpointed by global position, so events are applied strictly in position order: a reorder
 * buffer holds what arrives ahead of the next position (positions are dense, so a hole is known
 * exactly), and drops what is at or below the checkpoints (redeliveries). A partition's checkpoint
 * is stored only once every projection committed past every event it delivered up to there, so a
 * restart re-reads, and drops, rather than skips. A hole still open after `gapWait` (a shard
 * lagging, or records the stream no longer holds) is read from the event store.
 */
const follow = <E, EC, R>(feed: Stream.Stream<FeedBatch<EC>, E, R>, options: FeedOptions) =>
  Effect.gen(function*() {
    const log = yield* EventStore
    const gapWait = Duration.toMillis(options.gapWait ?? Duration.seconds(5))
    const maxBuffered = options.maxBuffered ?? 10_000
    const checkpoints: Map<ProjectionName, number> = yield* storedCheckpoints
    /** Every projection has applied up to here: the next position needed is one above. */
    const applied = () => Math.min(...checkpoints.values())
    const buffer = new Map<number, RecordedEvent>()
    /** Per partition, its delivered batches not yet checkpointed, with the highest position delivered up to each. */
    const unacknowledged = new Map<string, Array<{ readonly upTo: number; readonly checkpoint: Effect.Effect<void, EC> }>>()
    let hole: { readonly at: number; readonly since: number } | undefined

    /**
     * Applies the events that follow position `from - 1` to each projection from its own checkpoint;
     * a projection below `from - 1` (set back by a rebuild) waits for its hole to be filled.
     */
    const apply = (from: number, events: ReadonlyArray<RecordedEvent>) =>
      Effect.gen(function*() {
        const ready = new Map([...checkpoints].filter(([, at]) => at >= from - 1))
        if (ready.size === 0) return
        // moved by someone else (a second instance, a rebuild): go on from where they all are now
        const next = yield* applyBatches(ready, events).pipe(Effect.catchTag("CheckpointMoved", () => storedCheckpoints))
        for (const [name, at] of next) checkpoints.set(name, at)
      })

    const acknowledge = Effect.suspend(() =>
      Effect.forEach(unacknowledged.values(), (batches) => {
        let last: Effect.Effect<void, EC> | undefined
        while (batches.length > 0 && batches[0]!.upTo <= applied()) last = batches.shift()!.checkpoint
        return last ?? Effect.void
      }, { discard: true }))

    /** Applies the buffered run that starts at the next position, page by page, then checkpoints what it covered. */
    const drain = Effect.gen(function*() {
      for (;;) {
        const from = applied() + 1
        const run: Array<RecordedEvent> = []
        for (let p = from; run.length < PAGE; p++) {
          const event = buffer.get(p)
          if (event === undefined) break
          run.push(event)
        }
        if (run.length === 0) break
        yield* apply(from, run)
        for (const e of run) if (e.position <= applied()) buffer.delete(e.position)
        if (applied() < from) break // a checkpoint went back (a rebuild): the hole below is filled from the store
      }
      for (const p of buffer.keys()) if (p <= applied()) buffer.delete(p)
      yield* acknowledge
    })

    /** Reads the hole below the lowest buffered position from the event store and applies it. */
    const fillHole = Effect.gen(function*() {
      const until = Math.min(...buffer.keys()) - 1
      yield* Effect.logInfo(`positions ${applied() + 1}..${until} not delivered by the feed: reading them from the event store`)
      while (applied() < until) {
        const from = applied() + 1
        const page = yield* log.readAll({ fromPosition: from, limit: Math.min(PAGE, until - from + 1) })
        if (page.length === 0) break
        if (page[0]!.position !== from) yield* Effect.logWarning(`the event store starts at ${page[0]!.position}, not ${from} (purged)`)
        yield* apply(from, page)
      }
      yield* drain
    })

    const watchHole = Effect.gen(function*() {
      if (buffer.size === 0) {
        hole = undefined
        return
      }
      const now = yield* Clock.currentTimeMillis
      const at = applied() + 1
      if (hole === undefined || hole.at !== at) hole = { at, since: now }
      if (now - hole.since >= gapWait || buffer.size >= maxBuffered) {
        yield* fillHole
        hole = undefined
      }
    })

    const receive = (batch: FeedBatch<EC>) =>
      Effect.gen(function*() {
        let upTo = 0
        for (const e of batch.events) {
          upTo = Math.max(upTo, e.position)
          if (e.position > applied()) buffer.set(e.position, e)
        }
        const batches = unacknowledged.get(batch.partition) ?? []
        batches.push({ upTo: Math.max(upTo, batches[batches.length - 1]?.upTo ?? 0), checkpoint: batch.checkpoint })
        unacknowledged.set(batch.partition, batches)
        yield* drain
        yield* watchHole
      })

    const ticks = Stream.fromSchedule(Schedule.spaced(Duration.millis(Math.max(10, Math.min(gapWait, 1000) / 2))))
    yield* Stream.merge(Stream.map(feed, Option.some), Stream.as(ticks, Option.none<FeedBatch<EC>>()), { haltStrategy: "left" }).pipe(
      Stream.runForEach(Option.match({ onNone: () => watchHole, onSome: receive }))
    )
  })

/**
 * Runs every projection from a partitioned feed of the log (a Kinesis events stream) instead of
 * the store's `readAll`, for as long as the service runs (fork it from main). Any failure is
 * logged and it starts over from the stored checkpoints after `retryAfter`.
 */
export const runProjectionsFromFeed = <E, EC, R>(
  feed: Stream.Stream<FeedBatch<EC>, E, R>,
  options: FeedOptions = {}
): Effect.Effect<never, never, R | EventStore | ReadModelStore> =>
  follow(feed, options).pipe(
    Effect.catchAll((e) => Effect.logWarning("projections: the feed, the event store or the read model failed; starting over from the checkpoints", e)),
    Effect.zipRight(Effect.sleep(options.retryAfter ?? Duration.seconds(1))),
    Effect.forever,
    Effect.annotateLogs("projections", "feed")
  )
