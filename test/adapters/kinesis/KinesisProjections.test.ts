import { describe, expect, it } from "@effect/vitest"
import { Context, DateTime, Effect, Fiber, Layer, Logger, LogLevel, Option } from "effect"
import * as BusCheckpoints from "../../../src/adapters/kinesis/BusCheckpoints.js"
import * as KinesisConsumer from "../../../src/adapters/kinesis/KinesisConsumer.js"
import * as KinesisPublisher from "../../../src/adapters/kinesis/KinesisPublisher.js"
import * as Memory from "../../../src/adapters/memory/index.js"
import { DEFAULT_RELAY, publishPending } from "../../../src/application/EventRelay.js"
import * as Markets from "../../../src/application/Markets.js"
import { ConsumerCheckpoints } from "../../../src/application/ports/ConsumerCheckpoints.js"
import { EventPublisher } from "../../../src/application/ports/EventPublisher.js"
import { EventStore } from "../../../src/application/ports/EventStore.js"
import { ReadModel } from "../../../src/application/ports/ReadModel.js"
import { type ProjectionName, projectionNames, ReadModelStore } from "../../../src/application/ports/ReadModelStore.js"
import { RelayCheckpoint } from "../../../src/application/ports/RelayCheckpoint.js"
import { type FeedOptions, runProjectionsFromFeed } from "../../../src/application/ProjectionsFromFeed.js"
import * as TradingAccounts from "../../../src/application/TradingAccounts.js"
import { decimal } from "../../../src/domain/Decimal.js"
import { AccountId, Currency, CustomerId } from "../../../src/domain/Ids.js"
import { ACME, openMarketAt } from "../../application/fixtures.js"
import { dump, headPosition, projectAll, trade } from "../../application/projectionSuite.js"
import { eventually, fast, freshStream, kinesisLayer } from "./kinesisTest.js"

const CONSUMER = "projections"

const tickNow = (price: string) =>
  Effect.zipRight(Effect.sleep("2 millis"), Effect.flatMap(DateTime.now, (now) => Markets.updatePrice(ACME, decimal(price), now)))

/** Accounts that open, buy, deposit and sell while the price moves: every projection gets work. */
const workload = (prefix: string, n: number) =>
  Effect.forEach(Array.from({ length: n }, (_, i) => i), (i) =>
    Effect.gen(function*() {
      const id = AccountId.make(`${prefix}${i}`)
      yield* TradingAccounts.openAccount({
        accountId: id, customerId: CustomerId.make("c-1"), accountType: "INDIVIDUAL", currency: Currency.make("USD"), initialBalance: decimal("10000")
      })
      yield* trade(id, ACME, "BUY", `${i + 1}`)
      yield* TradingAccounts.depositFunds(id, decimal("12.34"))
      yield* tickNow(["10.00", "10.10", "10.20", "10.30", "10.40"][i % 5]!)
      if (i % 2 === 0) yield* trade(id, ACME, "SELL", "1")
    }), { discard: true }).pipe(Effect.as(Array.from({ length: n }, (_, i) => `${prefix}${i}`)))

const relay = (stream: string) =>
  publishPending().pipe(Effect.provideServiceEffect(EventPublisher, KinesisPublisher.make({ stream, baseDelay: "1 millis", maxDelay: "20 millis" })))

/**
 * The read models' commits, and the event store's `readAll` calls, as the runner makes them. Per
 * projection the commits must chain from 0 to the head, each from where the last one ended: then
 * every position was applied exactly once.
 */
const observed = Effect.gen(function*() {
  const commits: Array<{ readonly projection: ProjectionName; readonly expected: number; readonly next: number }> = []
  const storeReads: Array<number> = []
  const store = yield* ReadModelStore
  const log = yield* EventStore
  const services = Context.make(ReadModelStore, ReadModelStore.of({
    ...store,
    commit: (batch) =>
      Effect.tap(store.commit(batch), () => void commits.push(...batch.map(({ expected, next, projection }) => ({ projection, expected, next }))))
  })).pipe(Context.add(EventStore, EventStore.of({
    ...log,
    readAll: (options) => Effect.zipRight(Effect.sync(() => void storeReads.push(options?.fromPosition ?? 1)), log.readAll(options))
  })))
  const chains = (head: number) =>
    Object.fromEntries(projectionNames.map((name) => {
      const mine = commits.filter((c) => c.projection === name)
      const chained = mine.every((c, i) => c.expected === (i === 0 ? 0 : mine[i - 1]!.next) && c.next > c.expected)
      return [name, chained && mine[mine.length - 1]?.next === head]
    }))
  return { commits, storeReads, services, chains }
})

/** Forks the runner on the stream with these services; interrupt the fiber to "stop the process". */
const start = (stream: string, services: Context.Context<ReadModelStore | EventStore>, options: FeedOptions = {}) =>
  Effect.fork(runProjectionsFromFeed(KinesisConsumer.eventFeed({ stream, consumer: CONSUMER, limit: 7, ...fast }), {
    gapWait: "30 seconds", retryAfter: "20 millis", ...options
  }).pipe(Effect.provide(services)))

const position = Effect.flatMap(ReadModel, (r) => r.position)
const reached = (p: number) => eventually(`the read models at position ${p}`, Effect.map(position, (at) => at >= p), "20 seconds")

/** What the read models answer, against what runProjections from the store's log gives on fresh read models. */
const compareWithStore = (accounts: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fromStream = yield* dump(accounts, [ACME])
    const reference = yield* Layer.build(Memory.MemoryReadModel.layer)
    yield* Effect.provide(projectAll, reference)
    const fromStore = yield* Effect.provide(dump(accounts, [ACME]), reference)
    expect(fromStream.accounts.every((a) => Option.isSome(a.portfolio))).toBe(true)
    expect(fromStream.accounts.some((a) => a.trades.items.length > 0)).toBe(true)
    expect(fromStream).toEqual(fromStore)
  })

const env = Layer.mergeAll(Memory.layer, BusCheckpoints.layerMemory, kinesisLayer())

describe("projections fed from the Kinesis events stream", () => {
  it.live("apply every event once, in position order across two shards: the read models equal those the store's log gives", () =>
    Effect.gen(function*() {
      const stream = yield* freshStream(2)
      yield* openMarketAt(ACME, "10.00")
      const accounts = yield* workload("a", 12)
      yield* relay(stream)
      const head = yield* headPosition
      const { chains, services, storeReads } = yield* observed
      const runner = yield* start(stream, services)
      yield* reached(head)
      yield* Fiber.interrupt(runner)
      expect(chains(head)).toEqual({ portfolio: true, trades: true, bars: true })
      expect(storeReads).toEqual([]) // every event came from the stream
      yield* compareWithStore(accounts)
    }).pipe(Effect.provide(env), Effect.scoped), 60_000)

  it.live("a restart resumes from the shard checkpoints and the read models' own: nothing skipped, nothing applied twice", () =>
    Effect.gen(function*() {
      const stream = yield* freshStream(2)
      const { chains, services, commits, storeReads } = yield* observed
      yield* openMarketAt(ACME, "10.00")
      const first = yield* workload("b", 8)
      yield* relay(stream)
      const runner = yield* start(stream, services)
      yield* reached(yield* headPosition)
      yield* Fiber.interrupt(runner) // the process stops
      const checkpoints = yield* ConsumerCheckpoints
      const shards = yield* KinesisConsumer.listShards(stream)
      const stored = yield* Effect.forEach(shards, (shard) => checkpoints.position(CONSUMER, KinesisConsumer.partition(stream, shard)))
      expect(stored.filter(Option.isSome).length).toBe(2)

      // while it is down: more events, and a relay that lost its checkpoint publishes a stretch again
      const second = yield* workload("c", 8)
      yield* Effect.flatMap(RelayCheckpoint, (c) => c.save(DEFAULT_RELAY, 5))
      yield* relay(stream)
      const head = yield* headPosition
      const beforeRestart = commits.length

      // restarted, and stopped once more half-way, then restarted again
      const again = yield* start(stream, services)
      yield* eventually("progress after the restart", Effect.sync(() => commits.length > beforeRestart), "20 seconds")
      yield* Fiber.interrupt(again)
      const third = yield* start(stream, services)
      yield* reached(head)
      yield* Fiber.interrupt(third)
      expect(chains(head)).toEqual({ portfolio: true, trades: true, bars: true })
      expect(storeReads).toEqual([])
      yield* compareWithStore([...first, ...second])
    }).pipe(Effect.provide(env), Effect.scoped), 60_000)

  it.live("a hole the stream does not hold (trimmed, or published before the stream) is read from the event store", () =>
    Effect.gen(function*() {
      const stream = yield* freshStream(2)
      yield* openMarketAt(ACME, "10.00")
      const accounts = yield* workload("d", 6)
      yield* Effect.flatMap(RelayCheckpoint, (c) => c.save(DEFAULT_RELAY, 9)) // the stream starts at position 10
      yield* relay(stream)
      const head = yield* headPosition
      const { chains, services, storeReads } = yield* observed
      const runner = yield* start(stream, services, { gapWait: "100 millis" })
      yield* reached(head)
      yield* Fiber.interrupt(runner)
      expect(chains(head)).toEqual({ portfolio: true, trades: true, bars: true })
      expect(storeReads[0]).toBe(1)
      yield* compareWithStore(accounts)
    }).pipe(Effect.provide(env), Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Warning)), 60_000)
})
