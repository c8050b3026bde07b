import { describe, expect, it } from "@effect/vitest"
import { BigDecimal, Chunk, DateTime, Effect, Fiber, Layer, Logger, Stream } from "effect"
import * as BusCheckpoints from "../../../src/adapters/kinesis/BusCheckpoints.js"
import { Kinesis } from "../../../src/adapters/kinesis/KinesisClient.js"
import * as KinesisMarketFeed from "../../../src/adapters/kinesis/KinesisMarketFeed.js"
import * as Memory from "../../../src/adapters/memory/index.js"
import * as SimulatedFeed from "../../../src/adapters/simulator/SimulatedFeed.js"
import { Markets as MarketAggregate, decodeEvents } from "../../../src/application/Aggregate.js"
import { runMarketFeed } from "../../../src/application/MarketData.js"
import { EventStore } from "../../../src/application/ports/EventStore.js"
import { MarketFeed, type Tick } from "../../../src/application/ports/MarketFeed.js"
import { decimal } from "../../../src/domain/Decimal.js"
import { Symbol } from "../../../src/domain/Ids.js"
import { eventually, fast, freshStream, kinesisLayer } from "./kinesisTest.js"

const settings = { priceBand: decimal("0.05"), orderBand: decimal("0.1"), haltOnAnomaly: true }
const instruments = [{ symbol: Symbol.make("AAPL"), start: decimal("190") }, { symbol: Symbol.make("MSFT"), start: decimal("420") }]

const marketEvents = (symbol: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    return yield* decodeEvents(MarketAggregate, yield* store.getEvents(`market-${symbol}`))
  })

const prices = (symbol: string) =>
  Effect.map(marketEvents(symbol), (events) => events.flatMap((e) => e._tag === "PriceUpdated" ? [BigDecimal.format(e.price)] : []))

/** Keeps what is logged instead of printing it. */
const captured = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${(Array.isArray(message) ? message : [message]).map(String).join(" ")}`)
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

const feedOf = (ticks: ReadonlyArray<Tick>) => Layer.succeed(MarketFeed, MarketFeed.of({ ticks: Stream.fromIterable(ticks) }))

/** Runs the market processor on the Kinesis stream until `done` holds, then stops it (a "restart" runs it again). */
const processUntil = (stream: string, what: string, done: Effect.Effect<boolean, unknown, EventStore>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(runMarketFeed({ openMarkets: true, settings }).pipe(
      Effect.provide(KinesisMarketFeed.layer({ stream, ...fast }))
    ))
    yield* eventually(what, done)
    yield* Fiber.interrupt(fiber)
  })

describe("market data over Kinesis", () => {
  it.live("the simulator's ticks, put on a stream, become PriceUpdated events through runMarketFeed; a restart resumes", () => {
    const log = captured()
    return Effect.gen(function*() {
      const stream = yield* freshStream(2)
      const simulated = yield* SimulatedFeed.ticks({ instruments, ticksPerSecond: 200 }).pipe(Stream.take(20), Stream.runCollect)
      const walk = (symbol: string) => Chunk.toReadonlyArray(simulated).filter((t) => t.symbol === symbol).map((t) => BigDecimal.format(t.price))
      yield* KinesisMarketFeed.publishTicks(stream).pipe(Effect.provide(feedOf(Chunk.toReadonlyArray(simulated))))
      // what an outside producer might also put there: not ticks, skipped with a warning
      const kinesis = yield* Kinesis
      yield* kinesis.putRecords({
        StreamName: stream,
        Records: [
          { PartitionKey: "AAPL", Data: Buffer.from(JSON.stringify({ symbol: "AAPL", price: 191.5, timestamp: "2026-03-02T14:00:00Z" })) },
          { PartitionKey: "junk", Data: Buffer.from("not a tick") }
        ]
      })

      const recorded = (symbol: string, n: number) => Effect.map(prices(symbol), (p) => p.length >= n)
      yield* processUntil(stream, "every simulated tick", Effect.map(Effect.all([recorded("AAPL", 10), recorded("MSFT", 10)]), ([a, m]) => a && m))
      expect(yield* prices("AAPL")).toEqual(walk("AAPL"))
      expect(yield* prices("MSFT")).toEqual(walk("MSFT"))
      expect((yield* marketEvents("AAPL"))[0]?._tag).toBe("MarketOpened")
      const skipped = log.lines.filter((line) => line.includes("is not a tick"))
      expect(skipped).toHaveLength(2)
      expect(skipped).toEqual(expect.arrayContaining([
        expect.stringMatching(/^WARN market data: shardId-\d+ at \d+ is not a tick: price: Expected string, actual 191\.5$/),
        expect.stringMatching(/^WARN market data: shardId-\d+ at \d+ is not a tick: .*is not valid JSON$/)
      ]))

      // later ticks, one anomalous: the restarted processor resumes from its shard checkpoints
      const last = Chunk.toReadonlyArray(simulated).at(-1)!
      const later = (seconds: number) => DateTime.add(last.timestamp, { seconds })
      const aapl = BigDecimal.unsafeFromString(walk("AAPL").at(-1)!)
      yield* KinesisMarketFeed.publishTicks(stream).pipe(Effect.provide(feedOf([
        { symbol: Symbol.make("AAPL"), price: BigDecimal.sum(aapl, decimal("0.01")), timestamp: later(1) },
        { symbol: Symbol.make("AAPL"), price: BigDecimal.multiply(aapl, decimal("2")), timestamp: later(2) } // +100 %: refused, halts
      ])))
      yield* processUntil(stream, "the later ticks", Effect.map(marketEvents("AAPL"), (events) => events.some((e) => e._tag === "PriceRejected")))
      expect(yield* prices("AAPL")).toEqual([...walk("AAPL"), BigDecimal.format(BigDecimal.sum(aapl, decimal("0.01")))])
      expect((yield* marketEvents("AAPL")).slice(-2).map((e) => e._tag)).toEqual(["PriceRejected", "TradingHalted"])
      expect(yield* prices("MSFT")).toEqual(walk("MSFT")) // nothing recorded twice
      const ticks = (yield* marketEvents("AAPL")).filter((e) => e._tag === "PriceUpdated" || e._tag === "PriceRejected")
      expect(ticks.length).toBe(12)
    }).pipe(
      Effect.provide(Layer.mergeAll(Memory.layer, BusCheckpoints.layerMemory, kinesisLayer(), log.layer))
    )
  })

  it.live("a shard's checkpoint never passes a tick before it was taken downstream", () =>
    Effect.gen(function*() {
      const stream = yield* freshStream(1)
      const at = DateTime.unsafeMake(Date.parse("2026-03-02T14:00:00Z"))
      const ticks = Array.from({ length: 6 }, (_, i): Tick => ({ symbol: Symbol.make("IBM"), price: decimal(`${100 + i}`), timestamp: DateTime.add(at, { seconds: i }) }))
      yield* KinesisMarketFeed.publishTicks(stream).pipe(Effect.provide(feedOf(ticks)))
      // GetRecords pages of 2: take 3 ticks, stop, subscribe again: the first page's ticks are not read again,
      // the second page's (the one being taken) are.
      const feed = yield* KinesisMarketFeed.make({ stream, consumer: "checker", limit: 2, ...fast })
      const first = yield* feed.ticks.pipe(Stream.take(3), Stream.runCollect)
      const second = yield* feed.ticks.pipe(Stream.take(4), Stream.runCollect, Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => "ticks were skipped" }))
      const format = (c: Chunk.Chunk<Tick>) => Chunk.toReadonlyArray(c).map((t) => BigDecimal.format(t.price))
      expect(format(first)).toEqual(["100", "101", "102"])
      expect(format(second)).toEqual(["102", "103", "104", "105"])
    }).pipe(Effect.provide(Layer.mergeAll(BusCheckpoints.layerMemory, kinesisLayer()))))
})
