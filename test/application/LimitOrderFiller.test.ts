import { describe, expect, it } from "@effect/vitest"
import { DateTime, Deferred, Effect, Fiber, FiberId, Layer, Option, Schedule, TestClock } from "effect"
import { Accounts } from "../../src/application/Aggregate.js"
import { type OrderBook, processEvent, runLimitOrderFiller } from "../../src/application/LimitOrderFiller.js"
import * as Markets from "../../src/application/Markets.js"
import { EventStore, EventStoreUnavailable } from "../../src/application/ports/EventStore.js"
import * as TradingAccounts from "../../src/application/TradingAccounts.js"
import { decimal } from "../../src/domain/Decimal.js"
import type { AccountId } from "../../src/domain/Ids.js"
import { ACME, MemoryStores, openAccountWith, openMarketAt, gatedAppends, oneAtATime } from "./fixtures.js"

/** Feeds the whole log, from `from`, through the filler once: a deterministic drive of the process. */
const drive = (book: OrderBook, from: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const events = yield* store.readAll({ fromPosition: from })
    for (const event of events) yield* processEvent(book, event)
    return from + events.length
  })

const tick = (price: string) =>
  Effect.gen(function*() {
    yield* TestClock.adjust("1 second")
    return yield* Markets.updatePrice(ACME, decimal(price), yield* DateTime.now)
  })

const stateOf = (accountId: AccountId) =>
  Effect.map(TradingAccounts.getAccount(accountId), ({ state }) => {
    if (state._tag !== "Opened") throw new Error("account not open")
    return state
  })

const limitBuy = (quantity: string, limitPrice: string) =>
  ({ symbol: ACME, side: "BUY", orderType: "LIMIT", quantity: decimal(quantity), limitPrice: Option.some(decimal(limitPrice)) }) as const

describe("limit order filler", () => {
  it.effect("fills a resting BUY when a later price crosses it, at that price, once", () =>
    Effect.gen(function*() {
      yield* openMarketAt(ACME, "10.00")
      const accountId = yield* openAccountWith("1000.00")
      const placed = yield* TradingAccounts.placeOrder(accountId, limitBuy("10", "9.50"))
      expect(placed.events.map((e) => e._tag)).toEqual(["OrderPlaced"])
      const book: OrderBook = new Map()
      let next = yield* drive(book, 1)
      yield* tick("9.80") // above the limit: no fill
      next = yield* drive(book, next)
      expect((yield* stateOf(accountId)).portfolio.cash).toEqual(decimal("1000.00"))
      yield* tick("9.40")
      yield* tick("9.30") // a second crossing tick before the fill is seen must not fill again
      next = yield* drive(book, next)
      yield* drive(book, next)
      const state = yield* stateOf(accountId)
      expect(state.portfolio.cash).toEqual(decimal("906.00"))
      expect(state.openOrders.pipe((m) => [...m].length)).toBe(0)
      const store = yield* EventStore
      const trades = (yield* store.getEvents(`account-${accountId}`)).filter((e) => e.type === "TradeExecuted")
      expect(trades).toHaveLength(1)
      const trade = Accounts.codec.decode(trades[0]!.type, trades[0]!.schemaVersion, trades[0]!.data)
      expect(trade).toMatchObject({ _tag: "TradeExecuted", price: decimal("9.40"), quantity: decimal("10"), tradeType: "BUY" })
      expect(trades[0]!.metadata.commandId).toBe(`fill-${placed.events[0]!._tag === "OrderPlaced" ? placed.events[0]!.orderId : ""}`)
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("leaves a cancelled order alone and does not fill while trading is halted", () =>
    Effect.gen(function*() {
      yield* openMarketAt(ACME, "10.00")
      const accountId = yield* openAccountWith("1000.00")
      const first = yield* TradingAccounts.placeOrder(accountId, limitBuy("1", "9.00"))
      yield* TradingAccounts.placeOrder(accountId, limitBuy("2", "9.00"))
      const firstId = first.events[0]!._tag === "OrderPlaced" ? first.events[0]!.orderId : undefined
      yield* TradingAccounts.cancelOrder(accountId, firstId!)
      yield* Markets.haltTrading(ACME, "news pending")
      yield* tick("8.90")
      const book: OrderBook = new Map()
      const next = yield* drive(book, 1)
      expect((yield* stateOf(accountId)).portfolio.cash).toEqual(decimal("1000.00"))
      yield* Markets.resumeTrading(ACME)
      yield* tick("8.95")
      yield* drive(book, next)
      const state = yield* stateOf(accountId)
      expect(state.portfolio.cash).toEqual(decimal("982.10"))
      expect([...state.openOrders].length).toBe(0)
    }).pipe(Effect.provide(MemoryStores)))

  it.live("runs on the live subscription", () =>
    Effect.gen(function*() {
      yield* Markets.openMarket(ACME, { priceBand: decimal("0.5"), orderBand: decimal("0.2"), haltOnAnomaly: false })
      yield* Markets.updatePrice(ACME, decimal("20"), DateTime.unsafeMake("2026-03-02T14:00:00Z"))
      const accountId = yield* openAccountWith("1000.00")
      yield* TradingAccounts.placeOrder(accountId, {
        symbol: ACME, side: "BUY", orderType: "LIMIT", quantity: decimal("5"), limitPrice: Option.some(decimal("19"))
      })
      const filler = yield* Effect.fork(runLimitOrderFiller())
      yield* Markets.updatePrice(ACME, decimal("18.5"), DateTime.unsafeMake("2026-03-02T14:00:01Z"))
      const filled = yield* stateOf(accountId).pipe(
        Effect.filterOrFail((s) => [...s.openOrders].length === 0, () => "not yet"),
        Effect.retry(Schedule.spaced("5 millis").pipe(Schedule.intersect(Schedule.recurs(400))))
      )
      expect(filled.portfolio.cash).toEqual(decimal("907.50"))
      yield* Fiber.interrupt(filler)
    }).pipe(Effect.provide(MemoryStores)))

  it.live("goes on after the store failed a fill: follows the log again from that tick and fills it", () => {
    let failNext = false
    const flaky = Layer.effect(EventStore, Effect.map(EventStore, (store) => EventStore.of({
      ...store,
      appendEvents: (id, expected, events) =>
        Effect.suspend(() => {
          if (!failNext || !id.startsWith("account-")) return store.appendEvents(id, expected, events)
          failNext = false
          return Effect.fail(new EventStoreUnavailable({ reason: "connection reset" }))
        }),
      // a fill carries its own commandId: the decision lane appends it with the commit's check
      appendIfNewCommand: (id, expected, events) =>
        Effect.suspend(() => {
          if (!failNext || !id.startsWith("account-")) return store.appendIfNewCommand!(id, expected, events)
          failNext = false
          return Effect.fail(new EventStoreUnavailable({ reason: "connection reset" }))
        })
    })))
    const eventually = <A, E, R>(check: Effect.Effect<A, E, R>) =>
      check.pipe(Effect.retry(Schedule.spaced("5 millis").pipe(Schedule.intersect(Schedule.recurs(600)))))
    return Effect.gen(function*() {
      yield* Markets.openMarket(ACME, { priceBand: decimal("0.5"), orderBand: decimal("0.2"), haltOnAnomaly: false })
      yield* Markets.updatePrice(ACME, decimal("10"), DateTime.unsafeMake("2026-03-02T14:00:00Z"))
      const accountId = yield* openAccountWith("1000.00")
      yield* TradingAccounts.placeOrder(accountId, limitBuy("10", "9.50"))
      const filler = yield* Effect.fork(runLimitOrderFiller())
      failNext = true
      yield* Markets.updatePrice(ACME, decimal("9.40"), DateTime.unsafeMake("2026-03-02T14:00:01Z"))
      // the fill is tried and fails; a second later the filler follows the log again and makes it
      yield* eventually(Effect.filterOrFail(Effect.sync(() => failNext), (pending) => !pending, () => "not tried yet"))
      const state = yield* eventually(Effect.filterOrFail(stateOf(accountId), (s) => [...s.openOrders].length === 0, () => "not yet"))
      expect(state.portfolio.cash).toEqual(decimal("906.00"))
      yield* Fiber.interrupt(filler)
    }).pipe(Effect.provide(flaky.pipe(Layer.provideMerge(MemoryStores))))
  })

  it.effect("a fill the process turns away for overload is tried again until it is taken, not skipped", () => {
    const gate = Deferred.unsafeMake<void>(FiberId.none)
    const blocked = { stream: "" }
    return Effect.gen(function*() {
      yield* openMarketAt(ACME, "10.00")
      const accountId = yield* openAccountWith("1000.00")
      const other = yield* openAccountWith("1.00")
      yield* TradingAccounts.placeOrder(accountId, limitBuy("10", "9.50"))
      const book: OrderBook = new Map()
      let next = yield* drive(book, 1)
      yield* tick("9.40")
      // another command holds the process's one place until the gate opens
      blocked.stream = `account-${other}`
      const holding = yield* Effect.fork(oneAtATime(TradingAccounts.depositFunds(other, decimal("1"))))
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      const filling = yield* Effect.fork(oneAtATime(drive(book, next)))
      yield* TestClock.adjust("50 millis")
      expect((yield* stateOf(accountId)).portfolio.cash).toEqual(decimal("1000.00"))
      yield* Deferred.succeed(gate, undefined)
      yield* Fiber.join(holding)
      yield* TestClock.adjust("50 millis")
      next = yield* Fiber.join(filling)
      expect((yield* stateOf(accountId)).portfolio.cash).toEqual(decimal("906.00"))
    }).pipe(Effect.provide(gatedAppends(gate, blocked).pipe(Layer.provideMerge(MemoryStores))))
  })

  it.live("started on a log already written, takes it a chunk at a time: MARKET trades and a cancel move the book, the crossing tick fills what rests", () =>
    Effect.gen(function*() {
      yield* Markets.openMarket(ACME, { priceBand: decimal("0.5"), orderBand: decimal("0.2"), haltOnAnomaly: false })
      yield* Markets.updatePrice(ACME, decimal("10"), DateTime.unsafeMake("2026-03-02T14:00:00Z"))
      const resting = yield* openAccountWith("1000.00")
      const cancelling = yield* openAccountWith("1000.00")
      const marketBuyer = yield* openAccountWith("1000.00")
      yield* TradingAccounts.placeOrder(resting, limitBuy("10", "9.50"))
      const cancelled = yield* TradingAccounts.placeOrder(cancelling, limitBuy("5", "9.50"))
      const bought = yield* TradingAccounts.placeOrder(marketBuyer, {
        symbol: ACME, side: "BUY", orderType: "MARKET", quantity: decimal("2"), limitPrice: Option.none()
      })
      expect(bought.events.map((e) => e._tag)).toEqual(["OrderPlaced", "TradeExecuted"])
      yield* TradingAccounts.cancelOrder(cancelling, cancelled.events[0]!._tag === "OrderPlaced" ? cancelled.events[0]!.orderId : undefined!)
      yield* Markets.updatePrice(ACME, decimal("9.40"), DateTime.unsafeMake("2026-03-02T14:00:01Z"))
      yield* Markets.updatePrice(ACME, decimal("9.30"), DateTime.unsafeMake("2026-03-02T14:00:02Z"))
      const filler = yield* Effect.fork(runLimitOrderFiller())
      const filled = yield* stateOf(resting).pipe(
        Effect.filterOrFail((s) => [...s.openOrders].length === 0, () => "not yet"),
        Effect.retry(Schedule.spaced("5 millis").pipe(Schedule.intersect(Schedule.recurs(400))))
      )
      // at the first crossing tick's price, once, though the second tick crossed it too
      expect(filled.portfolio.cash).toEqual(decimal("906.00"))
      expect((yield* stateOf(cancelling)).portfolio.cash).toEqual(decimal("1000.00"))
      expect((yield* stateOf(marketBuyer)).portfolio.cash).toEqual(decimal("980.00"))
      const store = yield* EventStore
      const fills = (yield* store.readAll({ fromPosition: 1 })).filter((e) => e.type === "TradeExecuted" && e.metadata.userId === "limit-order-filler")
      expect(fills).toHaveLength(1)
      yield* Fiber.interrupt(filler)
    }).pipe(Effect.provide(MemoryStores)))
})
