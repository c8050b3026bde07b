import type { _Record, GetShardIteratorCommandInput } from "@aws-sdk/client-kinesis"
import { Chunk, DateTime, Duration, Effect, Either, Option, type Schedule, Stream } from "effect"
import { ConsumerCheckpoints, type ConsumerCheckpointUnavailable } from "../../application/ports/ConsumerCheckpoints.js"
import type { RecordedEvent } from "../../application/ports/EventStore.js"
import type { FeedBatch } from "../../application/ProjectionsFromFeed.js"
import * as EventRecord from "./EventRecord.js"
import { Kinesis, KinesisError, retrying } from "./KinesisClient.js"

export interface ConsumerOptions {
  readonly stream: string
  /** Names the checkpoints: consumers with different names each read the whole stream. */
  readonly consumer: string
  /** Records per GetRecords (default 1000, at most 10 000). */
  readonly limit?: number
  /** Pause after a GetRecords that found nothing new, doubling up to `maxIdle` (defaults 200 ms and 1 s: a shard takes 5 reads a second). */
  readonly minIdle?: Duration.DurationInput
  readonly maxIdle?: Duration.DurationInput
  /** Back-off of throttled or failed calls (default KinesisClient.defaultBackOff, for as long as it takes). */
  readonly backOff?: Schedule.Schedule<unknown, unknown>
}

/** A record as read from its shard. */
export interface ConsumedRecord {
  readonly shardId: string
  readonly sequenceNumber: string
  readonly partitionKey: string
  readonly arrivedAt: Option.Option<DateTime.Utc>
  readonly data: Uint8Array
}

/** One GetRecords page of one shard. */
export interface ShardBatch<A> {
  readonly shardId: string
  readonly records: ReadonlyArray<A>
  readonly lastSequenceNumber: string
  /**
   * Stores `lastSequenceNumber` as the shard's checkpoint: run it once the batch is processed. A
   * batch not checkpointed is read again by the next consumer of that name (at least once).
   */
  readonly checkpoint: Effect.Effect<void, ConsumerCheckpointUnavailable>
}

export type ConsumerError = KinesisError | ConsumerCheckpointUnavailable

/** The checkpoint's partition name of a shard. */
export const partition = (stream: string, shardId: string) => `${stream}/${shardId}`

/** Every shard of the stream (all pages of ListShards). */
export const listShards = (stream: string, backOff?: Schedule.Schedule<unknown, unknown>) =>
  Effect.gen(function*() {
    const kinesis = yield* Kinesis
    const shards: Array<string> = []
    let token: string | undefined
    do {
      const page = yield* retrying(backOff)(kinesis.listShards(token === undefined ? { StreamName: stream } : { NextToken: token }))
      for (const shard of page.Shards ?? []) if (shard.ShardId !== undefined) shards.push(shard.ShardId)
      token = page.NextToken
    } while (token !== undefined)
    return shards
  })

const toRecord = (shardId: string) => (record: _Record): ConsumedRecord => ({
  shardId,
  sequenceNumber: record.SequenceNumber ?? "",
  partitionKey: record.PartitionKey ?? "",
  arrivedAt: Option.map(Option.fromNullable(record.ApproximateArrivalTimestamp), (d) => DateTime.unsafeMake(d)),
  data: record.Data ?? new Uint8Array()
})

interface ReaderState {
  readonly iterator: string
  /** The last sequence number handed on, where an expired iterator is taken up again. */
  readonly last: Option.Option<string>
  readonly idleMillis: number
}

/**
 * The batches of one shard in order: from AFTER_SEQUENCE_NUMBER its stored checkpoint, else from
 * TRIM_HORIZON; GetRecords again at once after a full page, after a growing pause after an empty
 * one; an expired iterator is renewed after the last record handed on. Ends when the shard is
 * closed (resharded) and read to its end; otherwise never.
 */
export const shardBatches = (options: ConsumerOptions, shardId: string): Stream.Stream<ShardBatch<ConsumedRecord>, ConsumerError, Kinesis | ConsumerCheckpoints> =>
  Stream.unwrap(Effect.gen(function*() {
    const kinesis = yield* Kinesis
    const checkpoints = yield* ConsumerCheckpoints
    const retry = retrying(options.backOff)
    const limit = options.limit ?? 1000
    const minIdle = Duration.toMillis(options.minIdle ?? Duration.millis(200))
    const maxIdle = Duration.toMillis(options.maxIdle ?? Duration.seconds(1))
    const name = partition(options.stream, shardId)

    const iteratorAfter = (sequence: Option.Option<string>) =>
      retry(kinesis.getShardIterator(Option.match(sequence, {
        onNone: (): GetShardIteratorCommandInput => ({ StreamName: options.stream, ShardId: shardId, ShardIteratorType: "TRIM_HORIZON" }),
        onSome: (s): GetShardIteratorCommandInput =>
          ({ StreamName: options.stream, ShardId: shardId, ShardIteratorType: "AFTER_SEQUENCE_NUMBER", StartingSequenceNumber: s })
      }))).pipe(Effect.flatMap((out) => out.ShardIterator === undefined
        ? Effect.fail(new KinesisError({ operation: "GetShardIterator", code: "NoIterator", message: `no iterator for ${name}`, status: 200 }))
        : Effect.succeed(out.ShardIterator)))

    const read = (state: ReaderState) =>
      retry(kinesis.getRecords({ ShardIterator: state.iterator, Limit: limit })).pipe(
        Effect.catchIf((e) => e.code === "ExpiredIteratorException", () =>
          Effect.flatMap(iteratorAfter(state.last), (iterator) => retry(kinesis.getRecords({ ShardIterator: iterator, Limit: limit }))))
      )

    const stored = yield* checkpoints.position(options.consumer, name)
    const first: ReaderState = { iterator: yield* iteratorAfter(stored), last: stored, idleMillis: minIdle }
    return Stream.paginateChunkEffect(first, (state) =>
      Effect.gen(function*() {
        const out = yield* read(state)
        const records = (out.Records ?? []).map(toRecord(shardId))
        const next = Option.fromNullable(out.NextShardIterator)
        const last = records[records.length - 1]
        if (last === undefined) {
          const caughtUp = (out.MillisBehindLatest ?? 0) === 0
          if (Option.isSome(next) && caughtUp) yield* Effect.sleep(Duration.millis(state.idleMillis))
          return [Chunk.empty<ShardBatch<ConsumedRecord>>(), Option.map(next, (iterator) => ({
            iterator, last: state.last, idleMillis: caughtUp ? Math.min(maxIdle, state.idleMillis * 2) : state.idleMillis
          }))] as const
        }
        const batch: ShardBatch<ConsumedRecord> = {
          shardId, records, lastSequenceNumber: last.sequenceNumber,
          checkpoint: checkpoints.savePosition(options.consumer, name, last.sequenceNumber)
        }
        return [Chunk.of(batch), Option.map(next, (iterator) => ({ iterator, last: Option.some(last.sequenceNumber), idleMillis: minIdle }))] as const
      }))
  }))

/**
 * Every shard's batches, one reader per shard, merged: each shard's (so each partition key's)
 * order is kept, shards interleave. Shards are listed once, at the start.
 */
export const batches = (options: ConsumerOptions) =>
  Stream.unwrap(Effect.map(listShards(options.stream, options.backOff), (shards) =>
    Stream.mergeAll(shards.map((shardId) => shardBatches(options, shardId)), { concurrency: "unbounded", bufferSize: 1 })))

/**
 * Runs `handle` on every record, shards in parallel and each shard in order, and checkpoints a
 * shard after each batch its records were all handled in. Fails when `handle` or Kinesis does (a
 * later run resumes from the checkpoints, so the failed batch is handled again).
 */
export const run = <E, R>(options: ConsumerOptions, handle: (record: ConsumedRecord) => Effect.Effect<void, E, R>) =>
  Effect.gen(function*() {
    const shards = yield* listShards(options.stream, options.backOff)
    yield* Effect.forEach(shards, (shardId) =>
      shardBatches(options, shardId).pipe(
        Stream.runForEach((batch) => Effect.zipRight(Effect.forEach(batch.records, handle, { discard: true }), batch.checkpoint))
      ), { concurrency: "unbounded", discard: true })
  }).pipe(Effect.withSpan("KinesisConsumer.run", { attributes: { stream: options.stream, consumer: options.consumer } }))

/** A record of the events stream as its event; names the shard and sequence number when it does not decode. */
export const decodeEvent = (record: ConsumedRecord): Effect.Effect<RecordedEvent, EventRecord.RecordUndecodable> =>
  Either.mapLeft(EventRecord.decode(record.data), (e) =>
    new EventRecord.RecordUndecodable({ reason: `${record.shardId} at ${record.sequenceNumber}: ${e.reason}` }))

/** The events stream's batches, decoded. A record that does not decode fails the stream there rather than be skipped. */
export const eventBatches = (options: ConsumerOptions) =>
  Stream.mapEffect(batches(options), (batch) =>
    Effect.map(Effect.forEach(batch.records, decodeEvent), (records): ShardBatch<RecordedEvent> => ({ ...batch, records })))

/**
 * `run` over the events stream: `handle` gets each event, each aggregate's in version order (wrap it
 * in `applyOnce` to skip redeliveries). A record that does not decode stops the consumer at it.
 */
export const runEvents = <E, R>(options: ConsumerOptions, handle: (event: RecordedEvent) => Effect.Effect<void, E, R>) =>
  run(options, (record) => Effect.flatMap(decodeEvent(record), handle))

/**
 * The events stream as a feed for the projections (`runProjectionsFromFeed`): each shard a
 * partition, each batch checkpointed only when the runner says so.
 */
export const eventFeed = (options: ConsumerOptions): Stream.Stream<FeedBatch<ConsumerCheckpointUnavailable>, ConsumerError | EventRecord.RecordUndecodable, Kinesis | ConsumerCheckpoints> =>
  Stream.map(eventBatches(options), (batch) => ({ partition: batch.shardId, events: batch.records, checkpoint: batch.checkpoint }))
