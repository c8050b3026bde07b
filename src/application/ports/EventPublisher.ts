import { Context, type Effect, Schema } from "effect"
import type { RecordedEvent } from "./EventStore.js"

/** The bus did not take every event (after its own retries); nothing says which ones it kept. */
export class EventPublisherUnavailable extends Schema.TaggedError<EventPublisherUnavailable>()("EventPublisherUnavailable", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** Where recorded events go for other services: a message bus (Kinesis). */
export class EventPublisher extends Context.Tag("ledgerline/EventPublisher")<EventPublisher, {
  /**
   * Publishes events given in log order, each aggregate's in version order, at least once: succeeds
   * only once every one was accepted. A failure may leave some published (they are sent again).
   */
  readonly publish: (events: ReadonlyArray<RecordedEvent>) => Effect.Effect<void, EventPublisherUnavailable>
}>() {}
