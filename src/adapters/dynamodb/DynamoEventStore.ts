import type { QueryCommandOutput } from "@aws-sdk/client-dynamodb"
import { Context, Duration, Effect, Layer, Option, Stream } from "effect"
import { catchUp } from "../../application/CatchUp.js"
import * as Wakeup from "../../application/Wakeup.js"
import { GENESIS } from "../../application/HashChain.js"
import {
  type ChainLink, ConcurrencyConflict, DEFAULT_PAGE_SIZE, EventStore, EventStoreUnavailable, type RecordedEvent
} from "../../application/ports/EventStore.js"
import { SnapshotStore } from "../../application/ports/SnapshotStore.js"
import { readCoverage } from "./Coverage.js"
import * as DynamoAppend from "./DynamoAppend.js"
import * as DynamoClient from "./DynamoClient.js"
import { DynamoDb, type DynamoError, queryItems } from "./DynamoClient.js"
import * as DynamoSnapshotStore from "./DynamoSnapshotStore.js"
import * as Items from "./Items.js"
import * as Packed from "./Packed.js"
import * as Sequencer from "./Sequencer.js"
import { ensureTables, tableNames } from "./Tables.js"

export interface DynamoEventStoreOptions extends Sequencer.SequencerOptions, DynamoAppend.AppendOptions {
  /** Table names are `<prefix>events`, `<prefix>log` and `<prefix>snapshots`. */
  readonly prefix: string
}

export const defaultOptions: Omit<DynamoEventStoreOptions, "prefix"> = {
  pollInterval: Duration.millis(200),
  logBucketSize: 10_000,
  outboxShards: 4,
  sequencingTimeout: Duration.seconds(30)
}

const unavailable = (reason: string) => (cause: DynamoError) => new EventStoreUnavailable({ reason, cause })

/**
 * The event store on DynamoDB (docs/adr/0014). Appends commit to the events table and the outbox in
 * one transaction (DynamoAppend); the sequencer turns the outbox into the global log, the type
 * index and each aggregate's positions (Sequencer). Reads by aggregate come from the events table,
 * everything in commit order from the log, all with consistent reads.
 */
export const make = (options: DynamoEventStoreOptions) =>
  Effect.gen(function*() {
    const dynamo = yield* DynamoDb
    const names = tableNames(options.prefix)
    const sequencer = yield* Sequencer.make(names, options)
    const { actualVersion, append } = yield* DynamoAppend.make(names, sequencer, options)
    const bucketOf = (position: number) => Math.floor((position - 1) / options.logBucketSize)

    /**
     * The events of `items` (one aggregate, ascending versions) with their positions. Events
     * committed but not sequenced yet are left out after one nudge to the sequencer: readers see an
     * append once it is in the log, as they would a committed transaction.
     */
    const withPositions = (aggregateId: string, items: ReadonlyArray<Items.Item>) =>
      Effect.gen(function*() {
        if (items.length === 0) return []
        const first = Items.num(items[0]!, "Version")
        const last = Items.num(items[items.length - 1]!, "Version")
        let cover = yield* readCoverage(dynamo, names.log, aggregateId, first, last)
        if (cover.find(last) === undefined) {
          yield* sequencer.drained.pipe(Effect.timeoutOption("2 seconds"))
          cover = yield* readCoverage(dynamo, names.log, aggregateId, first, last)
        }
        const out: Array<RecordedEvent> = []
        for (const item of items) {
          const at = cover.find(Items.num(item, "Version"))
          if (at === undefined) break
          out.push(Items.fromEventItem(item, at.position, at.hash))
        }
        return out
      })

    /**
     * The head's position, read first by every read of the log: a query is only read-committed, so
     * it could see part of a sequencing transaction still committing; the head (a single item, read
     * serializably) moves in that same transaction, so whatever a read keeps at or below it is whole.
     */
    const headPosition = dynamo.getItem({
      TableName: names.log, Key: Items.headKey, ConsistentRead: true, ProjectionExpression: "#p", ExpressionAttributeNames: { "#p": "Position" }
    }).pipe(Effect.map(({ Item }) => Item === undefined ? 0 : Items.num(Item, "Position")))

    /**
     * The log from `from`, at most `limit` events. Chunk items are big (up to 256 KB), so each query
     * asks for about as many as the events still wanted fill, judged by the chunks read so far.
     */
    const readLog = (from: number, limit: number) =>
      Effect.gen(function*() {
        const out: Array<RecordedEvent> = []
        const end = Math.min(Math.max(1, from) + limit, (yield* headPosition) + 1)
        let next = Math.max(1, from)
        let perChunk = 0
        let chunks = 0
        while (next < end) {
          const bucket = bucketOf(next)
          const page = yield* dynamo.query({
            TableName: names.log,
            ConsistentRead: true,
            KeyConditionExpression: "PK = :pk AND SK >= :from",
            ExpressionAttributeValues: { ":pk": Items.S(Items.logPartition(bucket)), ":from": Items.S(Items.pad(next)) },
            Limit: chunks === 0 ? 2 : Math.min(100, Math.ceil((end - next) / perChunk) + 1)
          })
          const lower = next
          for (const item of page.Items ?? []) {
            const last = Number(item.SK?.S ?? "0")
            chunks++
            perChunk += ((last - Items.num(item, "First") + 1) - perChunk) / chunks
            out.push(...Packed.decode(item.Events?.B ?? new Uint8Array([1]), (p) => p >= lower && p < end))
            next = last + 1
          }
          // a bucket read to its end goes on in the next one only if it is full
          if ((page.Items ?? []).length === 0 || (page.LastEvaluatedKey === undefined && next !== (bucket + 1) * options.logBucketSize + 1)) break
        }
        return out
      }).pipe(Effect.mapError(unavailable("readAll failed")))

    const findByCommand = (aggregateId: string, commandId: string) =>
      queryItems(dynamo, {
        TableName: names.events,
        ConsistentRead: true,
        KeyConditionExpression: "#a = :a",
        FilterExpression: "#m.#c = :c",
        ExpressionAttributeNames: { "#a": "AggregateId", "#m": "Metadata", "#c": "commandId" },
        ExpressionAttributeValues: { ":a": Items.S(aggregateId), ":c": Items.S(commandId) }
      }).pipe(
        Effect.flatMap((items) => withPositions(aggregateId, items)),
        Effect.mapError(unavailable("findByCommand failed"))
      )


    return EventStore.of({
      appendEvents: (aggregateId, expectedVersion, events) =>
        events.length > 0
          ? append(aggregateId, expectedVersion, events)
          : actualVersion(aggregateId).pipe(
            Effect.mapError(unavailable("append failed")),
            Effect.flatMap((actual) =>
              actual === expectedVersion
                ? Effect.succeed({ nextVersion: actual, events: [] })
                : Effect.fail(new ConcurrencyConflict({ aggregateId, expectedVersion, actualVersion: actual })))
          ),
      getEvents: (aggregateId, options) => {
        const limit = options?.limit ?? DEFAULT_PAGE_SIZE
        return queryItems(dynamo, {
          TableName: names.events,
          ConsistentRead: true,
          KeyConditionExpression: "#a = :a AND #v >= :v",
          ExpressionAttributeNames: { "#a": "AggregateId", "#v": "Version" },
          ExpressionAttributeValues: { ":a": Items.S(aggregateId), ":v": Items.N(Math.max(1, options?.fromVersion ?? 1)) },
          Limit: limit
        }, (items) => items.length >= limit).pipe(
          Effect.flatMap((items) => withPositions(aggregateId, items.slice(0, limit))),
          Effect.mapError(unavailable("getEvents failed"))
        )
      },
      getEventsByType: (type, options) =>
        Effect.gen(function*() {
          const limit = options?.limit ?? DEFAULT_PAGE_SIZE
          const after = Number(options?.after ?? 0)
          const head = yield* headPosition
          const from = options?.fromTimestamp?.epochMillis ?? -Infinity
          const to = options?.toTimestamp?.epochMillis ?? Infinity
          const found: Array<RecordedEvent> = []
          let start: Items.Item | undefined = undefined
          do {
            const page: QueryCommandOutput = yield* dynamo.query({
              TableName: names.log,
              ConsistentRead: true,
              KeyConditionExpression: "PK = :pk AND SK > :after",
              ExpressionAttributeValues: { ":pk": Items.S(Items.typePartition(type)), ":after": Items.S(Items.pad(after)) },
              Limit: 100,
              ...(start === undefined ? {} : { ExclusiveStartKey: start })
            })
            for (const item of page.Items ?? []) {
              for (const e of Packed.decode(item.Events?.B ?? new Uint8Array([1]), (p) => p > after && p <= head)) {
                if (e.timestamp.epochMillis >= from && e.timestamp.epochMillis < to) found.push(e)
              }
            }
            start = page.LastEvaluatedKey
          } while (start !== undefined && found.length <= limit && Number(start.SK?.S ?? "0") < head)
          const events = found.slice(0, limit)
          const last = events[events.length - 1]
          return { events, cursor: found.length > limit && last !== undefined ? Option.some(String(last.position)) : Option.none() }
        }).pipe(Effect.mapError(unavailable("getEventsByType failed"))),
      readAll: (options) => readLog(options?.fromPosition ?? 1, options?.limit ?? DEFAULT_PAGE_SIZE),
      findByCommand,
      // one query per command (the events of an aggregate, filtered by its commandId): DynamoDB has no
      // lookup of many partitions at once that can filter, so they run side by side
      commandsSeen: (keys) =>
        Effect.forEach(keys, (k) => Effect.map(findByCommand(k.aggregateId, k.commandId), (events) => events.length > 0), {
          concurrency: 16
        }),
      head: dynamo.getItem({ TableName: names.log, Key: Items.headKey, ConsistentRead: true }).pipe(
        Effect.map(({ Item }) =>
          Option.map(Option.fromNullable(Item), (item): ChainLink => ({ position: Items.num(item, "Position"), hash: Items.str(item, "Hash") }))),
        Effect.mapError(unavailable("head failed"))
      ),
      // no retention purge on DynamoDB yet: the chain starts at the genesis link
      chainStart: Effect.succeed({ position: 0, hash: GENESIS }),
      subscribe: (fromPosition) =>
        Stream.unwrapScoped(Effect.map(Wakeup.fromStream(sequencer.head.changes, options.pollInterval), (wakeup) =>
          catchUp(readLog, wakeup, fromPosition)))
    })
  })

export interface DynamoStoreConfig extends DynamoClient.DynamoSettings {
  readonly prefix: string
  /** Create the tables (and wait for them) when the layer is built; by default only with an endpoint (DynamoDB Local). */
  readonly createTables?: boolean
  readonly store?: Partial<Omit<DynamoEventStoreOptions, "prefix">>
}

/** EventStore and SnapshotStore over the DynamoDb service in context. */
export const layerWithClient = (config: Omit<DynamoStoreConfig, keyof DynamoClient.DynamoSettings> & { readonly createTables?: boolean }) =>
  Layer.scopedContext(Effect.gen(function*() {
    if (config.createTables === true) yield* ensureTables(config.prefix)
    const store = yield* make({ ...defaultOptions, ...config.store, prefix: config.prefix })
    const snapshots = yield* DynamoSnapshotStore.make(tableNames(config.prefix).snapshots)
    return Context.make(EventStore, store).pipe(Context.add(SnapshotStore, snapshots))
  }))

/** EventStore and SnapshotStore on DynamoDB, with a client of their own. */
export const layer = (config: DynamoStoreConfig): Layer.Layer<EventStore | SnapshotStore, DynamoError> =>
  layerWithClient({ ...config, createTables: config.createTables ?? config.endpoint !== undefined }).pipe(
    Layer.provide(DynamoClient.layer(config))
  )
