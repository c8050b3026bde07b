import type { TransactWriteItem } from "@aws-sdk/client-dynamodb"
import { Deferred, Duration, Effect, Option, Random } from "effect"
import { randomUUID } from "node:crypto"
import {
  type AppendResult, ConcurrencyConflict, EventStoreUnavailable, type NewEvent, type RecordedEvent
} from "../../application/ports/EventStore.js"
import { readCoverage } from "./Coverage.js"
import { DynamoDb, type DynamoError } from "./DynamoClient.js"
import * as Items from "./Items.js"
import * as Packed from "./Packed.js"
import type { Sequencer } from "./Sequencer.js"
import { EXPIRES_AT, type TableNames } from "./Tables.js"

export interface AppendOptions {
  readonly outboxShards: number
  readonly logBucketSize: number
  /** How long an append waits for this process's sequencer before also looking for another's work. */
  readonly pollInterval: Duration.DurationInput
  /** How long an append waits for its positions before answering EventStoreUnavailable (it stays committed). */
  readonly sequencingTimeout: Duration.DurationInput
}

const STAGED_FOR = 7 * 24 * 3600 // seconds a staged chunk of an append that never committed lingers before TTL removes it

const refused = (reason: string) =>
  Effect.fail(new EventStoreUnavailable({ reason: `append refused before writing anything: ${reason}` }))

/**
 * What DynamoDB's limits allow in one append: each event item under 400 KB, and the append's
 * sequencing transaction (its events twice, its chain links, its chunk items) within 100 items and
 * 4 MB. A bigger append is refused whole before anything is written; split it into several appends.
 */
const check = (records: ReadonlyArray<RecordedEvent>, bucketSize: number) => {
  const sizes = records.map(Packed.recordSize)
  const large = sizes.findIndex((s) => s > Items.MAX_EVENT_BYTES)
  if (large >= 0) return refused(`event ${large} takes ${sizes[large]} bytes; at most ${Items.MAX_EVENT_BYTES}`)
  const total = sizes.reduce((a, b) => a + b, 0)
  if (total > Items.MAX_APPEND_BYTES) {
    return refused(`${records.length} events take ${total} bytes; at most ${Items.MAX_APPEND_BYTES} per append`)
  }
  const byType = new Map<string, { count: number; bytes: number }>()
  records.forEach((e, i) => {
    const t = byType.get(e.type) ?? { count: 0, bytes: 0 }
    byType.set(e.type, { count: t.count + 1, bytes: t.bytes + sizes[i]! + 32 }) // sequenced, each carries its link
  })
  // two neighbouring chunks hold more than one chunk's bytes, so n events of b bytes fill at most min(n, 2b/CHUNK + 1)
  const runs = (count: number, bytes: number) => Math.min(count, Math.floor((2 * bytes) / Items.CHUNK_BYTES) + 1)
  const staged = runs(records.length, total)
  const items = runs(records.length, total + 32 * records.length) + Math.ceil(records.length / bucketSize) + // log chunks, cut at bucket edges too
    [...byType.values()].reduce((n, t) => n + runs(t.count, t.bytes), 0) + // type chunks
    Math.ceil(records.length / Items.LINKS_PER_RECORD) + staged + 3 // sequencing records, staged chunks, outbox entry, head, check
  if (items > Items.MAX_TRANSACTION_ITEMS) {
    return refused(`${records.length} events of ${byType.size} types would take ${items} items to sequence; at most ${Items.MAX_TRANSACTION_ITEMS}`)
  }
  // as Sequencer's Budget counts them: each event twice with its link, once more its link alone
  const bytes = sizes.reduce((n, size) => n + 2 * (size + 32) + 32, 500) + 300 * items
  if (bytes > Items.MAX_TRANSACTION_BYTES) {
    return refused(`${records.length} events would take ${bytes} bytes to sequence; at most ${Items.MAX_TRANSACTION_BYTES}`)
  }
  return Effect.void
}

/**
 * appendEvents. One TransactWriteItems commits the append: a Put per event item (conditioned on
 * its version slot being free), a ConditionCheck that the expected version is the last of its
 * append (so an expected version ahead of the stream, or inside an append, is refused), and the
 * outbox entry. A larger append (past INLINE_EVENTS, and so past one transaction's 100 items too)
 * is split safely: its transaction holds only its first event item, and the rest are packed into
 * chunks staged beforehand under a key of the append's own (invisible to everyone, and pointed at
 * by the outbox entry once it commits); `AppendEnd` on the first item claims all the append's
 * versions, and the sequencer writes the remaining event items from the chunks before giving them
 * positions. So the append lands whole or not at all. It is durable once that transaction commits;
 * it then waits for the sequencer to give it positions and chain links.
 */
export const make = (names: TableNames, sequencer: Sequencer, options: AppendOptions) =>
  Effect.gen(function*() {
    const dynamo = yield* DynamoDb

    const actualVersion = (aggregateId: string) =>
      dynamo.query({
        TableName: names.events,
        ConsistentRead: true,
        KeyConditionExpression: "#a = :a",
        ExpressionAttributeNames: { "#a": "AggregateId", "#e": "AppendEnd" },
        ExpressionAttributeValues: { ":a": Items.S(aggregateId) },
        ProjectionExpression: "#e",
        ScanIndexForward: false,
        Limit: 1
      }).pipe(Effect.map(({ Items: found }) => found?.[0] === undefined ? 0 : Items.num(found[0], "AppendEnd")))

    const dropStaged = (appendId: string, chunks: number) =>
      chunks === 0 ? Effect.void : dynamo.batchWriteItem({
        RequestItems: {
          [names.log]: Array.from({ length: chunks }, (_, i) => ({ DeleteRequest: { Key: Items.stageKey(appendId, i) } }))
        }
      }).pipe(Effect.ignore)

    /** Positions and links from the sequencing records, once some sequencer (maybe another process's) wrote them. */
    const sequencedElsewhere = (aggregateId: string, records: ReadonlyArray<RecordedEvent>) =>
      readCoverage(dynamo, names.log, aggregateId, records[0]!.version, records[records.length - 1]!.version).pipe(
        Effect.map((cover) => {
          const found = records.map((e) => cover.find(e.version))
          return found.every((f) => f !== undefined)
            ? Option.some(records.map((e, i): RecordedEvent => ({ ...e, ...found[i]! })))
            : Option.none()
        })
      )

    const append = (aggregateId: string, expectedVersion: number, events: ReadonlyArray<NewEvent>) =>
      Effect.gen(function*() {
        const records = events.map((e, i) => Items.unsequenced(aggregateId, expectedVersion + i + 1, e))
        yield* check(records, options.logBucketSize)
        const appendId = randomUUID()
        const last = expectedVersion + records.length
        const small = records.length <= Items.INLINE_EVENTS &&
          records.reduce((n, e) => n + Items.eventItemSize(e), 0) <= Items.MAX_TRANSACTION_BYTES - Items.CHUNK_BYTES
        const inline = small ? records.length : 1
        const chunks = Packed.runs(records.slice(inline), Items.CHUNK_BYTES).map(Packed.encode)
        const outbox = Items.outboxKey(Items.shardOf(aggregateId, options.outboxShards), aggregateId, expectedVersion + 1)
        const createdAt = Date.now()
        const expiresAt = Math.floor(createdAt / 1000) + STAGED_FOR
        // plain puts: big items make a transaction slow, and these need no atomicity (nothing points at them yet)
        yield* Effect.forEach(chunks, (chunk, i) =>
          dynamo.putItem({ TableName: names.log, Item: { ...Items.stageKey(appendId, i), Events: Items.B(chunk), [EXPIRES_AT]: Items.N(expiresAt) } }),
          { concurrency: 4, discard: true }).pipe(Effect.mapError(unavailable("append failed; nothing was committed")))
        const items: Array<TransactWriteItem> = [
          ...records.slice(0, inline).map((e): TransactWriteItem => ({
            Put: { TableName: names.events, Item: Items.eventItem(e, last), ConditionExpression: "attribute_not_exists(AggregateId)" }
          })),
          ...(expectedVersion === 0 ? [] : [{
            ConditionCheck: {
              TableName: names.events,
              Key: { AggregateId: Items.S(aggregateId), Version: Items.N(expectedVersion) },
              ConditionExpression: "#e = :v",
              ExpressionAttributeNames: { "#e": "AppendEnd" },
              ExpressionAttributeValues: { ":v": Items.N(expectedVersion) }
            }
          }]),
          {
            Put: {
              TableName: names.log,
              Item: {
                ...outbox,
                AggregateId: Items.S(aggregateId),
                FirstVersion: Items.N(expectedVersion + 1),
                Count: Items.N(records.length),
                Inline: Items.N(inline),
                AppendId: Items.S(appendId),
                Chunks: Items.N(chunks.length),
                CreatedAt: Items.N(createdAt)
              },
              ConditionExpression: "attribute_not_exists(PK)"
            }
          }
        ]
        const done = yield* sequencer.expect(appendId, records)
        const commit = (attempt: number): Effect.Effect<void, ConcurrencyConflict | EventStoreUnavailable> =>
          // the SDK's own retries resend the token, so a commit whose answer was lost is not refused as a conflict
          dynamo.transactWriteItems({ TransactItems: items, ClientRequestToken: attempt === 0 ? appendId : randomUUID() }).pipe(
            Effect.catchIf((e) => e.conditionFailed || e.contended, (e) =>
              Effect.flatMap(Effect.mapError(actualVersion(aggregateId), unavailable("append failed; nothing was written")), (actual) =>
                actual !== expectedVersion
                  ? Effect.fail(new ConcurrencyConflict({ aggregateId, expectedVersion, actualVersion: actual }))
                  : e.contended && attempt < 5
                  ? Effect.zipRight(Effect.flatMap(Random.nextIntBetween(5, 50), (ms) => Effect.sleep(Duration.millis(ms))), commit(attempt + 1))
                  : Effect.fail(new EventStoreUnavailable({ reason: "append failed; nothing was written", cause: e })))),
            Effect.mapError((e) => e._tag !== "DynamoError" ? e : new EventStoreUnavailable({ reason: refusedOrUnknown(e), cause: e }))
          )
        yield* commit(0).pipe(Effect.tapError(() => Effect.zipRight(sequencer.forget(appendId), dropStaged(appendId, chunks.length))))
        yield* sequencer.committed({
          key: outbox, aggregateId, firstVersion: expectedVersion + 1, count: records.length, inline, appendId, chunks: chunks.length, createdAt
        })
        return yield* awaitPositions(aggregateId, records, done).pipe(Effect.ensuring(sequencer.forget(appendId)))
      }).pipe(Effect.withSpan("DynamoEventStore.append", { attributes: { aggregateId, expectedVersion, events: events.length } }))

    /**
     * The appended events with their positions: from this process's sequencer, or, when a drain of
     * it ended without them (another process's sequencer took them, or the drain failed), from the
     * sequencing records if they are there.
     */
    const awaitPositions = (aggregateId: string, records: ReadonlyArray<RecordedEvent>, done: Deferred.Deferred<ReadonlyArray<RecordedEvent>>) =>
      Effect.gen(function*() {
        const deadline = Date.now() + Duration.toMillis(options.sequencingTimeout)
        // usually this process's sequencer has it within a transaction or two
        const soon = yield* Deferred.await(done).pipe(Effect.timeoutOption(options.pollInterval))
        if (Option.isSome(soon)) return { nextVersion: records[records.length - 1]!.version, events: soon.value } satisfies AppendResult
        for (;;) {
          const mine = yield* Effect.raceFirst(Effect.map(Deferred.await(done), Option.some), Effect.as(sequencer.drained, Option.none())).pipe(
            Effect.timeoutOption(Duration.millis(Math.max(0, deadline - Date.now()))),
            Effect.map(Option.flatten)
          )
          if (Option.isSome(mine)) return { nextVersion: records[records.length - 1]!.version, events: mine.value } satisfies AppendResult
          const elsewhere = yield* sequencedElsewhere(aggregateId, records).pipe(Effect.mapError(unavailable("appended; reading its positions failed")))
          if (Option.isSome(elsewhere)) return { nextVersion: records[records.length - 1]!.version, events: elsewhere.value } satisfies AppendResult
          if (Date.now() >= deadline) {
            return yield* new EventStoreUnavailable({
              reason: `appended ${aggregateId}@${records[0]!.version}..${records[records.length - 1]!.version}, but it was not sequenced in time; ` +
                "it will appear in the log"
            })
          }
        }
      })

    return { append, actualVersion }
  })

const unavailable = (reason: string) => (cause: DynamoError) => new EventStoreUnavailable({ reason, cause })

/** A request DynamoDB refused wrote nothing; a lost connection or a server error leaves the outcome open. */
const refusedOrUnknown = (e: DynamoError) =>
  e.status !== undefined && e.status < 500 && !e.contended
    ? "append failed; nothing was written"
    : "append failed; it may have been committed (an idempotent command finds it by its command id)"
