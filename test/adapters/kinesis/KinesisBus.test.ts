import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect, Either, Fiber, Layer, Logger, LogLevel, Option } from "effect"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as BusCheckpoints from "../../../src/adapters/kinesis/BusCheckpoints.js"
import * as EventRecord from "../../../src/adapters/kinesis/EventRecord.js"
import { type KinesisApi, KinesisError } from "../../../src/adapters/kinesis/KinesisClient.js"
import * as KinesisConsumer from "../../../src/adapters/kinesis/KinesisConsumer.js"
import * as KinesisPublisher from "../../../src/adapters/kinesis/KinesisPublisher.js"
import * as Memory from "../../../src/adapters/memory/index.js"
import { DEFAULT_RELAY, publishPending, runEventRelay } from "../../../src/application/EventRelay.js"
import { applyOnce } from "../../../src/application/IdempotentHandler.js"
import * as Markets from "../../../src/application/Markets.js"
import { EventPublisher } from "../../../src/application/ports/EventPublisher.js"
import { EventStore, type RecordedEvent } from "../../../src/application/ports/EventStore.js"
import { RelayCheckpoint } from "../../../src/application/ports/RelayCheckpoint.js"
import * as TradingAccounts from "../../../src/application/TradingAccounts.js"
import { decimal } from "../../../src/domain/Decimal.js"
import { AccountId, Currency, CustomerId, Symbol } from "../../../src/domain/Ids.js"
import { eventually, fast, freshStream, kinesisLayer } from "./kinesisTest.js"

const ACME = Symbol.make("ACME")

/** Real events through the use cases: each account opened, funded and drawn on; a market and its ticks. */
const accounts = (ids: ReadonlyArray<string>) =>
  Effect.forEach(ids, (id) =>
    Effect.gen(function*() {
      const accountId = AccountId.make(id)
      yield* TradingAccounts.openAccount({
        accountId, customerId: CustomerId.make("c-1"), accountType: "INDIVIDUAL", currency: Currency.make("USD"), initialBalance: decimal("1000")
      })
      yield* TradingAccounts.depositFunds(accountId, decimal("50"))
      yield* TradingAccounts.withdrawFunds(accountId, decimal("20.5"))
    }), { discard: true })

const market = (prices: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    yield* Markets.openMarket(ACME, { priceBand: decimal("0.5"), orderBand: decimal("0.2"), haltOnAnomaly: false })
    const start = Date.now()
    yield* Effect.forEach(prices, (price, i) => Markets.updatePrice(ACME, decimal(price), DateTime.unsafeMake(start + i)), { discard: true })
  })

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`)

const wholeLog = Effect.flatMap(EventStore, (store) => store.readAll({ limit: 100_000 }))
const headPosition = Effect.flatMap(EventStore, (store) => Effect.map(store.head, Option.match({ onNone: () => 0, onSome: (h) => h.position })))

/** Each aggregate's versions in the order seen: equal to the log's means complete, in order, once each. */
const byAggregate = (events: ReadonlyArray<RecordedEvent>) => {
  const versions = new Map<string, Array<number>>()
  for (const e of events) versions.set(e.aggregateId, [...(versions.get(e.aggregateId) ?? []), e.version])
  return versions
}

const publisherFor = (stream: string) =>
  Effect.provideServiceEffect(EventPublisher, KinesisPublisher.make({ stream, baseDelay: "1 millis", maxDelay: "20 millis" }))

/** Reads the stream until `n` events arrived (and a little longer, for any extra), as `{ shardId, event }`. */
const consume = (stream: string, n: number, consumer = "reader") =>
  Effect.gen(function*() {
    const got: Array<{ readonly shardId: string; readonly event: RecordedEvent }> = []
    const fiber = yield* Effect.fork(KinesisConsumer.run({ stream, consumer, ...fast }, (record) =>
      Effect.map(KinesisConsumer.decodeEvent(record), (event) => void got.push({ shardId: record.shardId, event }))))
    yield* eventually(`${n} events`, Effect.map(Fiber.poll(fiber), (done) => {
      if (Option.isSome(done)) throw new Error(`the consumer stopped: ${String(done.value)}`)
      return got.length >= n
    }))
    yield* Effect.sleep("60 millis")
    yield* Fiber.interrupt(fiber)
    return got
  })

/**
 * Wraps PutRecords: refuses every `every`-th record (ProvisionedThroughputExceededException, not
 * written), forwards the rest, and checks that no record is sent before its aggregate's previous
 * version was accepted.
 */
const refusing = (every: number) => {
  const seen = { requests: [] as Array<number>, refused: 0, violations: [] as Array<string> }
  const accepted = new Map<string, number>()
  let n = 0
  const wrap = (api: KinesisApi): KinesisApi => ({
    ...api,
    putRecords: (input) =>
      Effect.gen(function*() {
        const records = input.Records ?? []
        seen.requests.push(records.length)
        const events = records.map((r) => Either.getOrThrow(EventRecord.decode(r.Data!)))
        for (const e of events) {
          const previous = accepted.get(e.aggregateId) ?? 0
          if (e.version !== previous + 1) seen.violations.push(`${e.aggregateId} v${e.version} sent while v${previous} was the last accepted`)
        }
        const refuse = records.map(() => ++n % every === 0)
        const forwarded = records.filter((_, i) => !refuse[i])
        const results = forwarded.length === 0 ? [] : (yield* api.putRecords({ ...input, Records: forwarded })).Records ?? []
        let k = 0
        const refused = refuse.filter(Boolean).length
        seen.refused += refused
        events.forEach((e, i) => refuse[i] || accepted.set(e.aggregateId, e.version))
        return {
          $metadata: {},
          FailedRecordCount: refused,
          Records: records.map((_, i) => refuse[i] ? { ErrorCode: "ProvisionedThroughputExceededException", ErrorMessage: "Rate exceeded for shard" } : results[k++]!)
        }
      })
  })
  return { seen, wrap }
}

const env = (wrap?: (api: KinesisApi) => KinesisApi) => Layer.mergeAll(Memory.layer, BusCheckpoints.layerMemory, kinesisLayer(wrap))

describe("Kinesis event bus", () => {
  it.live("publishes the log and reads it back across two shards, each aggregate in version order", () =>
    Effect.gen(function*() {
      const stream = yield* freshStream(2)
      yield* accounts(ids("a", 10))
      yield* market(["10", "10.5", "10.25", "11"])
      const log = yield* wholeLog
      expect(yield* publishPending().pipe(publisherFor(stream))).toBe(log.length)
      expect(yield* Effect.flatMap(RelayCheckpoint, (c) => c.load(DEFAULT_RELAY))).toBe(log.length)

      const got = yield* consume(stream, log.length)
      expect(new Set(got.map((g) => g.shardId)).size).toBe(2)
      expect(byAggregate(got.map((g) => g.event))).toEqual(byAggregate(log))
      // the whole envelope and the Avro bytes arrive as stored
      expect([...got.map((g) => g.event)].sort((a, b) => a.position - b.position)).toEqual(log)
      // a second run has nothing left to publish
      expect(yield* publishPending().pipe(publisherFor(stream))).toBe(log.length)
    }).pipe(Effect.provide(env())))

  it.live("splits more than 500 records into requests of at most 500", () => {
    const { seen, wrap } = refusing(Infinity)
    return Effect.gen(function*() {
      const stream = yield* freshStream(2)
      yield* Effect.forEach(ids("b", 520), (id) => TradingAccounts.openAccount({
        accountId: AccountId.make(id), customerId: CustomerId.make("c-1"), accountType: "INDIVIDUAL", currency: Currency.make("USD"), initialBalance: decimal("0")
      }), { discard: true })
      const log = yield* wholeLog
      expect(log.length).toBeGreaterThan(500)
      yield* publishPending().pipe(publisherFor(stream))
      expect(Math.max(...seen.requests)).toBe(500)
      expect(seen.requests.reduce((a, b) => a + b, 0)).toBe(log.length)
      const got = yield* consume(stream, log.length)
      expect(byAggregate(got.map((g) => g.event))).toEqual(byAggregate(log))
    }).pipe(Effect.provide(env(wrap)))
  })

  it.live("retries refused records with back-off, losing and reordering nothing per aggregate", () => {
    const { seen, wrap } = refusing(3)
    return Effect.gen(function*() {
      const stream = yield* freshStream(2)
      yield* accounts(ids("c", 6))
      yield* market(["10", "10.1", "10.2", "10.3", "10.4", "10.5", "10.6"])
      const log = yield* wholeLog
      yield* publishPending().pipe(publisherFor(stream))
      expect(seen.refused).toBeGreaterThan(5)
      expect(seen.violations).toEqual([])
      const got = yield* consume(stream, log.length)
      expect(got.length).toBe(log.length) // refused records were not written: no duplicates either
      expect(byAggregate(got.map((g) => g.event))).toEqual(byAggregate(log))
    }).pipe(Effect.provide(env(wrap)))
  })

  it.live("moves the relay's checkpoint only once PutRecords succeeded; a restarted relay resumes there", () => {
    const outage = { down: false, sent: 0 }
    const wrap = (api: KinesisApi): KinesisApi => ({
      ...api,
      putRecords: (input) =>
        outage.down
          ? Effect.fail(new KinesisError({ operation: "PutRecords", code: "ServiceUnavailable", message: "PutRecords: down", status: 503 }))
          : Effect.tap(api.putRecords(input), () => void (outage.sent += input.Records?.length ?? 0))
    })
    return Effect.gen(function*() {
      const stream = yield* freshStream(2)
      const relayed = Effect.flatMap(RelayCheckpoint, (c) => c.load(DEFAULT_RELAY))
      const caughtUp = Effect.map(Effect.all([relayed, headPosition]), ([relay, head]) => relay === head)
      const relay = Effect.fork(runEventRelay({ retryAfter: "20 millis" }).pipe(
        Effect.provideServiceEffect(EventPublisher, KinesisPublisher.make({ stream, baseDelay: "1 millis", maxAttempts: 2 }))
      ))

      yield* accounts(ids("d", 3))
      const first = yield* relay
      yield* eventually("the relay to catch up", caughtUp)

      outage.down = true
      const before = yield* headPosition
      yield* accounts(ids("e", 2)) // live events while Kinesis refuses them
      yield* Effect.sleep("150 millis")
      expect(yield* relayed).toBe(before)
      outage.down = false
      yield* eventually("the relay to publish what Kinesis refused", caughtUp)
      yield* Fiber.interrupt(first)

      const sentBefore = outage.sent
      const stoppedAt = yield* headPosition
      yield* accounts(ids("f", 2)) // while no relay runs
      const second = yield* relay
      yield* eventually("the restarted relay to catch up", caughtUp)
      yield* Fiber.interrupt(second)
      expect(outage.sent - sentBefore).toBe((yield* headPosition) - stoppedAt)

      const log = yield* wholeLog
      const got = yield* consume(stream, log.length)
      expect(byAggregate(got.map((g) => g.event))).toEqual(byAggregate(log))
    }).pipe(Effect.provide(env(wrap)), Logger.withMinimumLogLevel(LogLevel.Error))
  })

  it.live("a new consumer resumes from the durable shard checkpoints: nothing skipped, nothing applied twice", () => {
    const file = join(mkdtempSync(join(tmpdir(), "ledgerline-kinesis-")), "bus.db")
    // a fresh store over the same file for each run: what the first run saved must be on disk
    const durable = () => BusCheckpoints.layerSql.pipe(Layer.provide(SqliteClient.layer({ filename: file })))
    const applied: Array<RecordedEvent> = []
    let deliveries = 0
    const handle = (crashAt: number) => (record: KinesisConsumer.ConsumedRecord) =>
      Effect.gen(function*() {
        const event = yield* KinesisConsumer.decodeEvent(record)
        deliveries += 1
        yield* applyOnce("projector", (e: RecordedEvent) => Effect.sync(() => void applied.push(e)))(event)
        // the crash comes after the event was applied, before its batch is checkpointed
        if (deliveries === crashAt) return yield* Effect.fail("crash" as const)
      })
    return Effect.gen(function*() {
      const stream = yield* freshStream(2)
      yield* accounts(ids("g", 8))
      yield* publishPending().pipe(publisherFor(stream))
      const log = yield* wholeLog
      const options = { stream, consumer: "projector", limit: 4, ...fast }

      expect(yield* KinesisConsumer.run(options, handle(11)).pipe(Effect.flip, Effect.provide(durable()))).toBe("crash")
      const firstRun = applied.length
      expect(firstRun).toBeGreaterThanOrEqual(11)
      expect(firstRun).toBeLessThan(log.length)

      const firstDeliveries = deliveries
      const second = yield* Effect.fork(KinesisConsumer.run(options, handle(-1)).pipe(Effect.provide(durable())))
      yield* eventually("the second consumer to apply the rest", Effect.sync(() => applied.length >= log.length))
      yield* Effect.sleep("60 millis")
      yield* Fiber.interrupt(second)
      expect(byAggregate(applied)).toEqual(byAggregate(log))
      // the second run started from the checkpoints, not from the start of the shards...
      expect(deliveries - firstDeliveries).toBeLessThan(log.length)
      // ...and the crashed batch came again, its applied events skipped
      expect(deliveries).toBeGreaterThan(log.length)
    }).pipe(Effect.provide(env()))
  })

  it.live("the idempotent handler skips an event published twice", () =>
    Effect.gen(function*() {
      const stream = yield* freshStream(2)
      yield* accounts(ids("h", 4))
      yield* market(["20", "20.2"])
      yield* publishPending().pipe(publisherFor(stream))
      // the relay lost its checkpoint: everything goes out again
      yield* Effect.flatMap(RelayCheckpoint, (c) => c.save(DEFAULT_RELAY, 0))
      yield* publishPending().pipe(publisherFor(stream))
      const log = yield* wholeLog

      const applied: Array<RecordedEvent> = []
      let deliveries = 0
      const apply = applyOnce("auditor", (e: RecordedEvent) => Effect.sync(() => void applied.push(e)))
      const fiber = yield* Effect.fork(KinesisConsumer.runEvents({ stream, consumer: "auditor", ...fast }, (event) =>
        Effect.zipRight(Effect.sync(() => deliveries++), apply(event))))
      yield* eventually("every copy to arrive", Effect.sync(() => deliveries >= 2 * log.length))
      yield* Fiber.interrupt(fiber)
      expect(deliveries).toBe(2 * log.length)
      expect(byAggregate(applied)).toEqual(byAggregate(log))
    }).pipe(Effect.provide(env())))
})
