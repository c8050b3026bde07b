import { Chunk, Duration, Effect, Stream } from "effect"
import { EventPublisher } from "./ports/EventPublisher.js"
import { EventStore, type RecordedEvent } from "./ports/EventStore.js"
import { RelayCheckpoint } from "./ports/RelayCheckpoint.js"

/** The relay's name in the checkpoint store when none is given. */
export const DEFAULT_RELAY = "events"

/** Events read per page while catching up (the publisher splits a page into requests of its own size). */
const PAGE = 500

export interface RelayOptions {
  /** Names the checkpoint: two relays (e.g. to two streams) keep their own. */
  readonly relay?: string
  /** Pause after the store, the bus or the checkpoint failed, before following the log again. */
  readonly retryAfter?: Duration.DurationInput
}

/**
 * Publishes a batch of the log, then moves the checkpoint to its last position. At least once:
 * the checkpoint moves only after the publisher accepted everything up to it, so a crash between
 * the two publishes the batch again (consumers skip what they applied, see IdempotentHandler).
 */
const publishBatch = (relay: string, events: ReadonlyArray<RecordedEvent>) =>
  Effect.gen(function*() {
    const last = events[events.length - 1]
    if (last === undefined) return
    yield* (yield* EventPublisher).publish(events)
    yield* (yield* RelayCheckpoint).save(relay, last.position)
  }).pipe(Effect.withSpan("EventRelay.publishBatch", { attributes: { relay, events: events.length } }))

/** Publishes everything after the checkpoint up to the head of the log, page by page; returns the new checkpoint. */
export const publishPending = (relay: string = DEFAULT_RELAY) =>
  Effect.gen(function*() {
    const log = yield* EventStore
    let checkpoint = yield* (yield* RelayCheckpoint).load(relay)
    for (;;) {
      const page = yield* log.readAll({ fromPosition: checkpoint + 1, limit: PAGE })
      const last = page[page.length - 1]
      if (last === undefined) return checkpoint
      yield* publishBatch(relay, page)
      checkpoint = last.position
    }
  }).pipe(Effect.withSpan("EventRelay.publishPending", { attributes: { relay } }))

/** Follows the log from the stored checkpoint (caught up, then live), one publish per delivered page. */
const follow = (relay: string) =>
  Effect.gen(function*() {
    const log = yield* EventStore
    const from = yield* (yield* RelayCheckpoint).load(relay)
    yield* Effect.logDebug(`relay: following the log from position ${from + 1}`)
    yield* log.subscribe(from + 1).pipe(
      Stream.chunks,
      Stream.runForEach((page) => publishBatch(relay, Chunk.toReadonlyArray(page)))
    )
  })

/**
 * Publishes every event of the global log to the EventPublisher, in log order, for as long as it
 * runs (fork it from main). Any failure is logged and the relay resumes from its stored checkpoint
 * after `retryAfter` (default 1 s): what was published but not yet checkpointed goes out again.
 */
export const runEventRelay = (options: RelayOptions = {}): Effect.Effect<never, never, EventStore | EventPublisher | RelayCheckpoint> => {
  const relay = options.relay ?? DEFAULT_RELAY
  const pause = Effect.sleep(options.retryAfter ?? Duration.seconds(1))
  return follow(relay).pipe(
    Effect.catchTags({
      EventStoreUnavailable: (e) => Effect.zipRight(Effect.logWarning("relay: event store unavailable; resuming from the checkpoint", e), pause),
      EventPublisherUnavailable: (e) => Effect.zipRight(Effect.logWarning("relay: publisher unavailable; resuming from the checkpoint", e), pause),
      RelayCheckpointUnavailable: (e) => Effect.zipRight(Effect.logWarning("relay: checkpoint unavailable; resuming from the checkpoint", e), pause)
    }),
    Effect.forever,
    Effect.annotateLogs("relay", relay)
  )
}
