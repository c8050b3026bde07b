import { Config, Effect, Layer } from "effect"
import { EventPublisher, EventPublisherUnavailable } from "../../application/ports/EventPublisher.js"
import * as EventRecord from "./EventRecord.js"
import { Kinesis } from "./KinesisClient.js"
import { type PutOptions, putInOrder } from "./PutRecords.js"

export interface PublisherOptions extends PutOptions {
  readonly stream: string
}

/**
 * The EventPublisher on a Kinesis stream: one record per event (EventRecord format), partition
 * key = aggregateId, PutRecords of at most 500 records and 5 MiB, refused records retried with
 * back-off without ever sending an aggregate's version n+1 before n was accepted (`putInOrder`).
 */
export const make = (options: PublisherOptions) =>
  Effect.map(Kinesis, (kinesis) =>
    EventPublisher.of({
      publish: (events) =>
        putInOrder(options.stream, events.map((event) => ({ partitionKey: event.aggregateId, data: EventRecord.encode(event) })), options).pipe(
          Effect.provideService(Kinesis, kinesis),
          Effect.tap((stats) => stats.retried > 0 ? Effect.logDebug(`published ${events.length} event(s) in ${stats.requests} request(s), ${stats.retried} retried`) : Effect.void),
          Effect.asVoid,
          Effect.mapError((cause) => new EventPublisherUnavailable({ reason: cause.message, cause }))
        )
    }))

export const layer = (options: PublisherOptions) => Layer.effect(EventPublisher, make(options))

/** The events stream's name: `LEDGERLINE_EVENTS_STREAM` (default `ledgerline-events`). */
export const eventsStream = Config.string("LEDGERLINE_EVENTS_STREAM").pipe(Config.withDefault("ledgerline-events"))

export const layerConfig = Layer.unwrapEffect(Effect.map(eventsStream, (stream) => layer({ stream })))
