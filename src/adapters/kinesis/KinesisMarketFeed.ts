import { BigDecimal, Chunk, Config, DateTime, Duration, Effect, Either, Layer, Option, ParseResult, Schema, Stream } from "effect"
import type { ConsumerCheckpoints } from "../../application/ports/ConsumerCheckpoints.js"
import { MarketFeed, MarketFeedUnavailable, type Tick } from "../../application/ports/MarketFeed.js"
import { Symbol } from "../../domain/Ids.js"
import { defaultBackOff, Kinesis } from "./KinesisClient.js"
import { batches, type ConsumedRecord, type ConsumerOptions, type ShardBatch } from "./KinesisConsumer.js"
import { MAX_RECORDS_PER_REQUEST, type PutOptions, putInOrder } from "./PutRecords.js"

/**
 * A tick as the Data of one Kinesis record: UTF-8 JSON
 * `{"symbol":"AAPL","price":"190.38","timestamp":"2026-03-02T14:00:00.250Z"}`, the price a decimal
 * string (a JSON number is refused, as everywhere money is), the timestamp the feed's time in ISO
 * 8601 UTC. Partition key = symbol, so a symbol's ticks stay in order.
 */
const TickRecord = Schema.parseJson(Schema.Struct({ symbol: Symbol, price: Schema.BigDecimal, timestamp: Schema.DateTimeUtc }))
const decodeTickRecord = Schema.decodeUnknownEither(TickRecord)

export const encodeTick = (tick: Tick): Uint8Array =>
  Buffer.from(JSON.stringify({ symbol: tick.symbol, price: BigDecimal.format(tick.price), timestamp: DateTime.formatIso(tick.timestamp) }), "utf8")

/** The tick in a record's Data, or why it is not one (one line: `price: Expected string, actual 191.5`). */
export const decodeTick = (data: Uint8Array): Either.Either<Tick, string> =>
  decodeTickRecord(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8")).pipe(
    Either.mapLeft((e) => ParseResult.ArrayFormatter.formatErrorSync(e).map((issue) =>
      issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`).join("; "))
  )

export interface MarketStreamOptions extends Omit<ConsumerOptions, "consumer"> {
  /** The checkpoints' name (default `market-data`). */
  readonly consumer?: string
}

/**
 * Hands a batch's ticks on, and checkpoints a shard's previous batch when its next one arrives, so
 * a shard's checkpoint never passes a tick before the tick was taken downstream. (A tick taken but
 * not yet recorded when the process stops is lost; one read again is recorded once, by commandId.)
 */
const checkpointBehind = <E, R>(stream: Stream.Stream<ShardBatch<ConsumedRecord>, E, R>) =>
  stream.pipe(
    Stream.mapAccumEffect(new Map<string, ShardBatch<ConsumedRecord>>(), (previous, batch) =>
      Effect.map(previous.get(batch.shardId)?.checkpoint ?? Effect.void, () => {
        previous.set(batch.shardId, batch)
        return [previous, batch.records] as const
      })),
    Stream.flattenIterables
  )

/** A record that is not a tick is logged and skipped: a bad record of an outside feed must not stop the market. */
const toTick = (record: ConsumedRecord) =>
  Either.match(decodeTick(record.data), {
    onLeft: (reason) => Effect.as(Effect.logWarning(`market data: ${record.shardId} at ${record.sequenceNumber} is not a tick: ${reason}`), Option.none<Tick>()),
    onRight: (tick) => Effect.succeed(Option.some(tick))
  })

/**
 * The MarketFeed on a Kinesis stream: every shard read from its checkpoint (`market-data` by
 * default), ticks of one symbol in stream order. Prices are validated by the market decider
 * (`runMarketFeed` records PriceRejected); records that are not ticks are skipped with a warning.
 * A Kinesis or checkpoint failure ends the subscription with MarketFeedUnavailable.
 */
export const make = (options: MarketStreamOptions) =>
  Effect.map(Effect.context<Kinesis | ConsumerCheckpoints>(), (context) =>
    MarketFeed.of({
      ticks: checkpointBehind(batches({ ...options, consumer: options.consumer ?? "market-data" })).pipe(
        Stream.mapEffect(toTick),
        Stream.filterMap((tick) => tick),
        Stream.mapError((cause) => new MarketFeedUnavailable({ reason: cause.message, cause })),
        Stream.provideContext(context)
      )
    }))

export const layer = (options: MarketStreamOptions) => Layer.effect(MarketFeed, make(options))

/** The market data stream: `LEDGERLINE_MARKET_STREAM` (none: market data does not come from Kinesis). */
export const marketStream = Config.option(Config.string("LEDGERLINE_MARKET_STREAM"))

/**
 * Puts the MarketFeed's ticks (the simulator's, say) on a Kinesis stream: up to 500 ticks gathered
 * for at most `maxWait` (default 50 ms) per `putInOrder`, each symbol's in order. A group Kinesis
 * would not take is put again whole after a back-off (a tick put twice is recorded once). Ends
 * when the feed does.
 */
export const publishTicks = (stream: string, options: PutOptions & { readonly maxWait?: Duration.DurationInput } = {}) =>
  Effect.gen(function*() {
    const feed = yield* MarketFeed
    const kinesis = yield* Kinesis
    yield* feed.ticks.pipe(
      Stream.groupedWithin(MAX_RECORDS_PER_REQUEST, options.maxWait ?? Duration.millis(50)),
      Stream.runForEach((ticks) =>
        putInOrder(stream, Chunk.toReadonlyArray(ticks).map((tick) => ({ partitionKey: tick.symbol, data: encodeTick(tick) })), options).pipe(
          Effect.tapError((e) => Effect.logWarning(`market data: ${ticks.length} tick(s) not put on ${stream}; again after a pause`, e)),
          Effect.retry({ schedule: defaultBackOff, while: (e) => e._tag === "RecordsNotAccepted" || e.retryable }),
          Effect.provideService(Kinesis, kinesis)
        ))
    )
  }).pipe(Effect.withSpan("KinesisMarketFeed.publishTicks", { attributes: { stream } }))
