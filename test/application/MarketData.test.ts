import { describe, expect, it } from "@effect/vitest"
import { BigDecimal, DateTime, Deferred, Effect, Fiber, FiberId, Layer, Logger, Option, Random, Stream, TestClock } from "effect"
import * as SimulatedFeed from "../../src/adapters/simulator/SimulatedFeed.js"
import * as Memory from "../../src/adapters/memory/index.js"
import { Accounts, Markets as MarketAggregate, decodeEvents } from "../../src/application/Aggregate.js"
import { CommandHandlerConfig } from "../../src/application/CommandHandler.js"
import { runLimitOrderFiller } from "../../src/application/LimitOrderFiller.js"
import { runMarketFeed } from "../../src/application/MarketData.js"
import * as Markets from "../../src/application/Markets.js"
import { EventStore, EventStoreUnavailable } from "../../src/application/ports/EventStore.js"
import { MarketFeed, type Tick } from "../../src/application/ports/MarketFeed.js"
import * as TradingAccounts from "../../src/application/TradingAccounts.js"
import { decimal, roundHalfEven } from "../../src/domain/Decimal.js"
import { Symbol } from "../../src/domain/Ids.js"
import type { MarketEvent } from "../../src/domain/Market.js"
import { ACME, MemoryStores, openAccountWith, gatedAppends, oneAtATime } from "./fixtures.js"

const START = Date.parse("2026-03-02T14:00:00Z")
const at = (seconds: number) => DateTime.unsafeMake(START + seconds * 1000)
const tick = (symbol: string, price: string, seconds: number): Tick => ({ symbol: Symbol.make(symbol), price: decimal(price), timestamp: at(seconds) })
const feedOf = (ticks: ReadonlyArray<Tick>) => Layer.succeed(MarketFeed, MarketFeed.of({ ticks: Stream.fromIterable(ticks) }))

const settings: Markets.MarketSettings = { priceBand: decimal("0.05"), orderBand: decimal("0.2"), haltOnAnomaly: true }

const marketEvents = (symbol: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    return yield* decodeEvents(MarketAggregate, yield* store.getEvents(`market-${symbol}`))
  })

const summary = (events: ReadonlyArray<MarketEvent>) =>
  events.map((e) => {
    switch (e._tag) {
      case "PriceUpdated": return `PriceUpdated ${BigDecimal.format(e.price)}`
      case "PriceRejected": return `PriceRejected ${BigDecimal.format(e.price)} ${e.anomaly}`
      default: return e._tag
    }
  })

/** Collects what is logged, to check that refusals are logged (and not once per tick). */
const logged = () => {
  const lines: Array<string> = []
  const logger = Logger.make(({ logLevel, message }) => {
    lines.push(`${logLevel.label} ${(Array.isArray(message) ? message : [message]).map(String).join(" ")}`)
  })
  return { lines, layer: Logger.replace(Logger.defaultLogger, logger) }
}

/** Runs `step` until `check` answers, as TestClock-driven processes need a few turns to catch up. */
const eventually = <A, E, R>(check: Effect.Effect<Option.Option<A>, E, R>, step: Effect.Effect<void>, turns = 2000) =>
  Effect.gen(function*() {
    for (let i = 0; i < turns; i++) {
      const answer = yield* check
      if (Option.isSome(answer)) return answer.value
      yield* step
    }
    return yield* Effect.dieMessage("condition never held")
  })

/**
 * Moves the test clock a second at a time until the fiber is done. One jump of a minute is not
 * enough: the clock counts a fiber waiting on the decision lane (a real event-loop turn) as
 * suspended, so a retry whose back-off starts after the jump would never be woken.
 */
const untilDone = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Effect.zipRight(eventually(Fiber.poll(fiber), TestClock.adjust("1 second")), Fiber.join(fiber))

/** A store that fails the first append outright and reports the third as failed after it committed. */
const flakyStore = Layer.effect(EventStore, Effect.gen(function*() {
  const store = yield* Memory.MemoryEventStore.make
  let appends = 0
  return EventStore.of({
    ...store,
    appendEvents: (aggregateId, expectedVersion, events) =>
      Effect.suspend(() => {
        appends += 1
        if (appends === 1) return Effect.fail(new EventStoreUnavailable({ reason: "connection reset" }))
        const append = store.appendEvents(aggregateId, expectedVersion, events)
        return appends === 3 ? Effect.zipRight(append, Effect.fail(new EventStoreUnavailable({ reason: "timed out after commit" }))) : append
      })
  })
}))

/** A store whose first two reads of a stream that has events miss them (a replica behind the primary). */
const openedBehindOurBack = Layer.effect(EventStore, Effect.gen(function*() {
  const store = yield* Memory.MemoryEventStore.make
  let stale = 0
  return EventStore.of({
    ...store,
    getEvents: (aggregateId, options) =>
      Effect.map(store.getEvents(aggregateId, options), (events) => events.length > 0 && stale < 2 ? (stale += 1, []) : events)
  })
}))

describe("market data", () => {
  it.effect("records every tick through the market decider and opens the markets it feeds", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      yield* runMarketFeed({ openMarkets: true, settings }).pipe(Effect.provide(feedOf([
        tick("AAPL", "190", 0), tick("MSFT", "420", 0), tick("AAPL", "190.38", 1), tick("MSFT", "419.16", 1), tick("AAPL", "190.0004", 2)
      ])))
      expect(summary(yield* marketEvents("AAPL"))).toEqual(["MarketOpened", "PriceUpdated 190", "PriceUpdated 190.38", "PriceUpdated 190.0004"])
      expect(summary(yield* marketEvents("MSFT"))).toEqual(["MarketOpened", "PriceUpdated 420", "PriceUpdated 419.16"])
      const opened = (yield* marketEvents("AAPL"))[0]!
      expect(opened).toMatchObject({ _tag: "MarketOpened", priceBand: decimal("0.05"), orderBand: decimal("0.2"), haltOnAnomaly: true })
      const view = yield* Markets.marketView(Symbol.make("AAPL"))
      expect(view.status).toBe("OPEN")
      expect(view.lastPrice).toEqual(Option.some(decimal("190.0004")))
      // the feed time is the PriceUpdated's timestamp
      const last = (yield* marketEvents("AAPL"))[3]!
      expect(last._tag === "PriceUpdated" && DateTime.toEpochMillis(last.timestamp)).toBe(START + 2000)
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("never dies on a refusal: anomalies are recorded, unlisted and closed markets are logged once", () => {
    const log = logged()
    return Effect.gen(function*() {
      yield* TestClock.setTime(START)
      yield* Markets.openMarket(ACME, settings)
      yield* Markets.openMarket(Symbol.make("SHUT"), settings)
      yield* Markets.closeMarket(Symbol.make("SHUT"))
      yield* runMarketFeed({ openMarkets: false }).pipe(Effect.provide(feedOf([
        tick("ACME", "10", 1),
        tick("ACME", "11", 2), // +10 %: beyond the 5 % band, recorded and halts
        tick("ACME", "10.01", 1), // the accepted price's feed time again: out of order
        tick("ACME", "10.02", 3), // a halted market still takes prices
        tick("NEWCO", "5", 1), tick("NEWCO", "5.01", 2), // never listed and not opened by this feed
        tick("SHUT", "7", 1), tick("SHUT", "7.01", 2) // closed: stays closed
      ])))
      expect(summary(yield* marketEvents("ACME"))).toEqual([
        "MarketOpened", "PriceUpdated 10", "PriceRejected 11 BAND_EXCEEDED", "TradingHalted", "PriceRejected 10.01 OUT_OF_ORDER",
        "PriceUpdated 10.02"
      ])
      expect(yield* marketEvents("NEWCO")).toEqual([])
      expect(summary(yield* marketEvents("SHUT"))).toEqual(["MarketOpened", "MarketClosed"])
      const warnings = log.lines.filter((l) => l.startsWith("WARN"))
      // one warning per change of reason and symbol (the symbols run in parallel, so sorted)
      expect([...warnings].sort()).toEqual([
        "WARN market data: ACME tick refused: PriceRejected BAND_EXCEEDED",
        "WARN market data: ACME tick refused: PriceRejected OUT_OF_ORDER",
        "WARN market data: NEWCO tick refused: MarketNotListed: The market has never been opened",
        "WARN market data: SHUT tick refused: MarketNotOpen: Market SHUT is closed"
      ])
      expect(log.lines).toContain("INFO market data: ACME accepts ticks again")
    }).pipe(Effect.provide(Layer.merge(MemoryStores, log.layer)))
  })

  it.effect("retries a tick while the store is unavailable, and records it once", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const fiber = yield* runMarketFeed({ openMarkets: true, settings }).pipe(
        Effect.provide(feedOf([tick("ACME", "10", 1), tick("ACME", "10.05", 2)])), Effect.fork)
      yield* untilDone(fiber)
      expect(summary(yield* marketEvents("ACME"))).toEqual(["MarketOpened", "PriceUpdated 10", "PriceUpdated 10.05"])
    }).pipe(Effect.provide(Layer.merge(flakyStore, Memory.MemorySnapshotStore.layer))))

  it.effect("retries a tick the process turns away for overload, and records it once it is taken", () => {
    const gate = Deferred.unsafeMake<void>(FiberId.none)
    const blocked = { stream: "" }
    return Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const accountId = yield* openAccountWith("1.00")
      // another command holds the process's one place until the gate opens
      blocked.stream = `account-${accountId}`
      const holding = yield* Effect.fork(oneAtATime(TradingAccounts.depositFunds(accountId, decimal("1"))))
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      const feeding = yield* oneAtATime(runMarketFeed({ openMarkets: true, settings })).pipe(
        Effect.provide(feedOf([tick("ACME", "10", 1)])), Effect.fork)
      yield* TestClock.adjust("1 second")
      expect(yield* marketEvents("ACME")).toEqual([])
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holding)
      yield* untilDone(feeding)
      expect(summary(yield* marketEvents("ACME"))).toEqual(["MarketOpened", "PriceUpdated 10"])
    }).pipe(Effect.provide(gatedAppends(gate, blocked).pipe(Layer.provideMerge(Layer.merge(Memory.MemoryEventStore.layer, Memory.MemorySnapshotStore.layer)))))
  })

  it.effect("tolerates a market another feed opened first", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      // opened by another process: this one's aggregate cache does not know of it
      yield* Markets.openMarket(ACME, settings).pipe(
        Effect.provideService(CommandHandlerConfig, { ...CommandHandlerConfig.defaultValue(), cacheCapacity: 0 }))
      const fiber = yield* runMarketFeed({ openMarkets: true, settings }).pipe(Effect.provide(feedOf([tick("ACME", "10", 1)])), Effect.fork)
      yield* untilDone(fiber)
      expect(summary(yield* marketEvents("ACME"))).toEqual(["MarketOpened", "PriceUpdated 10"])
    }).pipe(Effect.provide(Layer.merge(openedBehindOurBack, Memory.MemorySnapshotStore.layer))))

  it.effect("fills a resting LIMIT order when the simulated walk crosses it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const walk = SimulatedFeed.layer({ instruments: [{ symbol: ACME, start: decimal("100") }], ticksPerSecond: 2, maxStepBps: 50 })
      const feed = yield* Effect.fork(runMarketFeed({ openMarkets: true, settings }).pipe(Effect.provide(walk)))
      const filler = yield* Effect.fork(runLimitOrderFiller())
      const turn = Effect.zipRight(Effect.yieldNow(), TestClock.adjust("100 millis"))
      const first = yield* eventually(Effect.map(Markets.marketView(ACME), (v) => v.lastPrice), turn)
      expect(first).toEqual(decimal("100"))
      const accountId = yield* openAccountWith("10000.00")
      const limit = roundHalfEven(BigDecimal.multiply(first, decimal("0.997")), 2) // 0.3 % under the opening price
      yield* TradingAccounts.placeOrder(accountId, {
        symbol: ACME, side: "BUY", orderType: "LIMIT", quantity: decimal("10"), limitPrice: Option.some(limit)
      })
      const filled = yield* eventually(
        Effect.map(TradingAccounts.getAccount(accountId), ({ state }) =>
          state._tag === "Opened" && [...state.openOrders].length === 0 ? Option.some(state) : Option.none()),
        turn
      )
      const store = yield* EventStore
      const account = yield* store.getEvents(`account-${accountId}`)
      const [trade] = yield* decodeEvents(Accounts, account.filter((e) => e.type === "TradeExecuted"))
      expect(trade?._tag).toBe("TradeExecuted")
      if (trade?._tag !== "TradeExecuted") return
      expect(BigDecimal.lessThanOrEqualTo(trade.price, limit)).toBe(true)
      // it filled at a price the walk sent and the market accepted
      const prices = (yield* marketEvents("ACME")).flatMap((e) => e._tag === "PriceUpdated" ? [BigDecimal.format(e.price)] : [])
      expect(prices).toContain(BigDecimal.format(trade.price))
      expect(filled.portfolio.cash).toEqual(BigDecimal.subtract(decimal("10000.00"), BigDecimal.multiply(decimal("10"), trade.price)))
      yield* Fiber.interrupt(feed)
      yield* Fiber.interrupt(filler)
    }).pipe(Effect.provide(MemoryStores), Effect.withRandom(Random.make("fills"))))
})
