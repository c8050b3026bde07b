import { describe, expect, it } from "@effect/vitest"
import { BigDecimal, DateTime, Effect, Exit, Fiber, type Layer, Option, type Scope, TestClock } from "effect"
import { randomUUID } from "node:crypto"
import { PAGE_SIZE } from "../../src/application/CatchUp.js"
import { checkConsistency } from "../../src/application/ConsistencyCheck.js"
import * as Markets from "../../src/application/Markets.js"
import {
  applyBatch, applyBatches, catchUp, checkpoints, ProjectionTimeout, projectionNames, rebuild, runProjections, waitFor
} from "../../src/application/Projections.js"
import { EventStore, type NewEvent } from "../../src/application/ports/EventStore.js"
import { ReadModel, type TradeRow } from "../../src/application/ports/ReadModel.js"
import { CheckpointMoved, ReadModelStore } from "../../src/application/ports/ReadModelStore.js"
import type { SnapshotStore } from "../../src/application/ports/SnapshotStore.js"
import * as TradingAccounts from "../../src/application/TradingAccounts.js"
import type { Side } from "../../src/domain/AccountEvents.js"
import { decimal } from "../../src/domain/Decimal.js"
import { type AccountId, Symbol } from "../../src/domain/Ids.js"
import { ACME, openAccountWith } from "./fixtures.js"

export type ProjectionStores = EventStore | SnapshotStore | ReadModel | ReadModelStore

export const BETA = Symbol.make("BETA")
const at = (iso: string) => DateTime.unsafeMake(iso)

export const openMarket = (symbol: Symbol, price: string) =>
  Effect.gen(function*() {
    yield* Markets.openMarket(symbol, { priceBand: decimal("0.5"), orderBand: decimal("0.2"), haltOnAnomaly: false })
    yield* Markets.updatePrice(symbol, decimal(price), yield* DateTime.now)
  })

export const trade = (accountId: AccountId, symbol: Symbol, side: Side, quantity: string) =>
  TradingAccounts.placeOrder(accountId, { symbol, side, orderType: "MARKET", quantity: decimal(quantity), limitPrice: Option.none() })

/** A tick one second after the clock's now (the clock moves with it). */
export const tick = (symbol: Symbol, price: string) =>
  Effect.gen(function*() {
    yield* TestClock.adjust("1 second")
    return yield* Markets.updatePrice(symbol, decimal(price), yield* DateTime.now)
  })

export const headPosition = Effect.flatMap(EventStore, (s) => s.head).pipe(Effect.map(Option.match({ onNone: () => 0, onSome: (h) => h.position })))

/** Every projection caught up with the log, the way a rebuild or a runner after a restart does it. */
export const projectAll = Effect.forEach(projectionNames, catchUp, { discard: true })

/** Everything the read models answer about these accounts and symbols. */
export const dump = (accountIds: ReadonlyArray<string>, symbols: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const rm = yield* ReadModel
    return {
      accounts: yield* Effect.forEach(accountIds, (id) =>
        Effect.all({
          portfolio: rm.portfolio(id),
          trades: rm.trades(id, { limit: 1000 }),
          history: rm.balanceHistory(id, "0000-01-01", "9999-12-31")
        })),
      symbols: yield* Effect.forEach(symbols, (s) =>
        Effect.all({ price: rm.latestPrice(s), bars: rm.bars(s, at("1970-01-01T00:00:00Z"), at("2100-01-01T00:00:00Z")) }))
    }
  })

const portfolioOf = (accountId: string) =>
  Effect.flatMap(ReadModel, (rm) => rm.portfolio(accountId)).pipe(Effect.map(Option.getOrThrow))

/** Every page of an account's trades, following the cursor. */
const allPages = (accountId: string, query: { readonly limit: number; readonly symbol?: string; readonly from?: DateTime.Utc; readonly to?: DateTime.Utc }) =>
  Effect.gen(function*() {
    const rm = yield* ReadModel
    const pages: Array<ReadonlyArray<TradeRow>> = []
    let cursor: string | undefined
    for (let i = 0; i < 50; i++) {
      const page = yield* rm.trades(accountId, { ...query, ...(cursor === undefined ? {} : { cursor }) })
      pages.push(page.items)
      if (Option.isNone(page.nextCursor)) return pages
      cursor = page.nextCursor.value
    }
    return yield* Effect.dieMessage("trades kept returning a cursor")
  })

/** A few accounts trading two symbols over three UTC days, with ticks in between. */
export const history = Effect.gen(function*() {
  yield* openMarket(ACME, "10.00")
  yield* openMarket(BETA, "50.00")
  const alice = yield* openAccountWith("1000.00")
  const bob = yield* openAccountWith("5000.00")
  yield* trade(alice, ACME, "BUY", "10")
  yield* trade(bob, ACME, "BUY", "3")
  yield* trade(bob, BETA, "BUY", "7.5")
  yield* tick(ACME, "12.00")
  yield* trade(alice, ACME, "SELL", "4")
  yield* TestClock.adjust("1 day")
  yield* TradingAccounts.depositFunds(alice, decimal("100.05"))
  yield* tick(BETA, "49.9999")
  yield* trade(bob, ACME, "SELL", "3") // closes: the position realizes and stays shown
  yield* TestClock.adjust("1 day")
  yield* tick(ACME, "11.50")
  yield* tick(ACME, "11.75")
  return { alice, bob }
})

/**
 * The projection runner and the read models, run against one store adapter. `makeLayer` gives a
 * fresh, empty event store and read models each time its layer is built (once per test).
 */
export const projectionSuite = (name: string, makeLayer: () => Layer.Layer<ProjectionStores, unknown>): void => {
  const run = <A, E>(body: Effect.Effect<A, E, ProjectionStores | Scope.Scope>) => body.pipe(Effect.scoped, Effect.provide(makeLayer()))

  describe(`${name} read models`, () => {
    it.effect("projects cash, positions marked at the latest price, trades and prices from real commands", () =>
      run(Effect.gen(function*() {
        yield* openMarket(ACME, "10.00")
        const id = yield* openAccountWith("1000.00")
        const buy = yield* trade(id, ACME, "BUY", "10")
        yield* tick(ACME, "12.00")
        const sell = yield* trade(id, ACME, "SELL", "4")
        const rm = yield* ReadModel
        expect(yield* rm.portfolio(id)).toEqual(Option.none())
        yield* projectAll
        expect(yield* rm.position).toBe(yield* headPosition)
        const now = yield* DateTime.now
        expect(yield* portfolioOf(id)).toEqual({
          accountId: id, cash: decimal("948.00"), equity: decimal("1020.00"),
          asOfPosition: sell.recorded[sell.recorded.length - 1]!.position, lastUpdated: now,
          positions: [{
            symbol: "ACME", quantity: decimal("6"), avgCost: decimal("10"), marketPrice: Option.some(decimal("12")),
            marketValue: Option.some(decimal("72")), unrealizedPnl: Option.some(decimal("12")), realizedPnl: decimal("8"), lastUpdated: now
          }]
        })
        const trades = yield* rm.trades(id, { limit: 10 })
        expect(trades.items.map((t) => [t.side, t.quantity, t.price])).toEqual([
          ["SELL", decimal("4"), decimal("12")], ["BUY", decimal("10"), decimal("10")]
        ])
        expect(trades.items[1]!.orderId).toBe(buy.events[0]!._tag === "OrderPlaced" ? buy.events[0]!.orderId : "")
        expect(trades.nextCursor).toEqual(Option.none())
        expect(yield* rm.latestPrice("ACME")).toEqual(Option.some({ symbol: "ACME", price: decimal("12"), at: now }))
        expect(yield* rm.portfolio("nobody")).toEqual(Option.none())
      })))

    it.effect("re-marks every position in the symbol on a tick, rounding half-even for display only", () =>
      run(Effect.gen(function*() {
        yield* openMarket(ACME, "10.00")
        yield* openMarket(BETA, "20.00")
        const a = yield* openAccountWith("1000.00")
        const b = yield* openAccountWith("1000.00")
        const c = yield* openAccountWith("1000.00")
        yield* trade(a, ACME, "BUY", "0.50")
        yield* trade(b, ACME, "BUY", "2")
        yield* trade(c, BETA, "BUY", "1")
        yield* projectAll
        const before = yield* portfolioOf(c)
        yield* tick(ACME, "10.01")
        yield* projectAll
        const pa = yield* portfolioOf(a)
        // 0.50 × 10.01 = 5.005 and 5.005 − 5.00 = 0.005: half-even shows 5.00 and 0.00 (half-up would say 5.01, 0.01)
        expect(pa.positions[0]).toMatchObject({ marketPrice: Option.some(decimal("10.01")), marketValue: Option.some(decimal("5.00")), unrealizedPnl: Option.some(decimal("0.00")) })
        expect(pa.equity).toEqual(decimal("1000.00")) // 995 + 5.005 = 1000.005 → 1000.00
        const pb = yield* portfolioOf(b)
        expect(pb.positions[0]).toMatchObject({ marketValue: Option.some(decimal("20.02")), unrealizedPnl: Option.some(decimal("0.02")) })
        expect(pb.equity).toEqual(decimal("1000.02"))
        expect(yield* portfolioOf(c)).toEqual(before) // BETA did not tick
      })))

    it.effect("builds one-minute OHLC bars from the feed's times, across batches", () =>
      run(Effect.gen(function*() {
        yield* openMarket(ACME, "10.00")
        yield* Markets.updatePrice(ACME, decimal("10.50"), at("2026-03-02T14:00:05Z"))
        yield* Markets.updatePrice(ACME, decimal("12"), at("2026-03-02T14:00:20Z"))
        yield* projectAll
        yield* Markets.updatePrice(ACME, decimal("9"), at("2026-03-02T14:00:50Z"))
        yield* Markets.updatePrice(ACME, decimal("9.25"), at("2026-03-02T14:00:59.999Z"))
        yield* Markets.updatePrice(ACME, decimal("11"), at("2026-03-02T14:01:00Z"))
        yield* Markets.updatePrice(ACME, decimal("100"), at("2026-03-02T14:01:30Z")) // beyond the band: rejected, no bar
        yield* projectAll
        const rm = yield* ReadModel
        expect(yield* rm.bars("ACME", at("2026-03-02T14:00:00Z"), at("2026-03-02T15:00:00Z"))).toEqual([
          { symbol: "ACME", minute: at("2026-03-02T14:00:00Z"), open: decimal("10.5"), high: decimal("12"), low: decimal("9"), close: decimal("9.25"), ticks: 4 },
          { symbol: "ACME", minute: at("2026-03-02T14:01:00Z"), open: decimal("11"), high: decimal("11"), low: decimal("11"), close: decimal("11"), ticks: 1 }
        ])
        expect(yield* rm.bars("ACME", at("2026-03-02T14:01:00Z"), at("2026-03-02T14:02:00Z"))).toHaveLength(1)
        expect(yield* rm.latestPrice("ACME")).toEqual(Option.some({ symbol: "ACME", price: decimal("11"), at: at("2026-03-02T14:01:00Z") }))
      })))

    it.effect("pages trades by keyset, newest first, with symbol and time filters", () =>
      run(Effect.gen(function*() {
        yield* openMarket(ACME, "10.00")
        yield* openMarket(BETA, "20.00")
        const id = yield* openAccountWith("100000.00")
        const t0 = yield* DateTime.now
        for (let i = 0; i < 4; i++) yield* trade(id, i % 2 === 0 ? ACME : BETA, "BUY", "1") // four trades in one millisecond
        yield* TestClock.adjust("1 minute")
        const t1 = yield* DateTime.now
        yield* trade(id, ACME, "BUY", "1")
        yield* TestClock.adjust("1 minute")
        yield* trade(id, BETA, "BUY", "1")
        yield* trade(id, ACME, "SELL", "1")
        yield* projectAll
        const rm = yield* ReadModel
        const everything = (yield* rm.trades(id, { limit: 100 })).items
        expect(everything).toHaveLength(7)
        const expected = [...everything].sort((x, y) =>
          y.executedAt.epochMillis - x.executedAt.epochMillis || (x.tradeId < y.tradeId ? 1 : -1))
        expect(everything.map((t) => t.tradeId)).toEqual(expected.map((t) => t.tradeId))
        const pages = yield* allPages(id, { limit: 2 })
        expect(pages.map((p) => p.length)).toEqual([2, 2, 2, 1])
        expect(pages.flat().map((t) => t.tradeId)).toEqual(expected.map((t) => t.tradeId))
        const acme = yield* allPages(id, { limit: 2, symbol: "ACME" })
        expect(acme.flat().map((t) => t.tradeId)).toEqual(expected.filter((t) => t.symbol === "ACME").map((t) => t.tradeId))
        const window = yield* allPages(id, { limit: 3, from: t0, to: t1 }) // [from, to)
        expect(window.flat().map((t) => t.tradeId)).toEqual(expected.filter((t) => t.executedAt.epochMillis === t0.epochMillis).map((t) => t.tradeId))
        expect(window.map((p) => p.length)).toEqual([3, 1])
        expect((yield* rm.trades(id, { limit: 5, from: t1 })).items).toHaveLength(3)
        expect((yield* rm.trades("nobody", { limit: 5 })).items).toEqual([])
      })))

    it.effect("keeps end-of-day cash and equity per UTC day, re-marked by ticks", () =>
      run(Effect.gen(function*() {
        yield* openMarket(ACME, "10.00")
        const id = yield* openAccountWith("1000.00")
        yield* trade(id, ACME, "BUY", "10")
        yield* tick(ACME, "12.00")
        yield* TestClock.adjust("1 day")
        yield* TradingAccounts.depositFunds(id, decimal("100"))
        yield* projectAll // the day is split across batches: the later batch wins the day
        yield* TradingAccounts.withdrawFunds(id, decimal("0.01"))
        yield* TestClock.adjust("2 days")
        yield* tick(ACME, "11.00")
        yield* projectAll
        const rm = yield* ReadModel
        const point = (date: string, cash: string, equity: string) => ({ date, cash: decimal(cash), equity: decimal(equity) })
        expect(yield* rm.balanceHistory(id, "1970-01-01", "1970-12-31")).toEqual([
          point("1970-01-01", "900.00", "1020.00"),
          point("1970-01-02", "999.99", "1119.99"),
          point("1970-01-04", "999.99", "1109.99")
        ])
        expect(yield* rm.balanceHistory(id, "1970-01-02", "1970-01-03")).toEqual([point("1970-01-02", "999.99", "1119.99")])
        expect(yield* rm.balanceHistory("nobody", "1970-01-01", "1970-12-31")).toEqual([])
      })))

    it.effect("changes nothing when a batch is applied twice", () =>
      run(Effect.gen(function*() {
        const { alice, bob } = yield* history
        const log = yield* EventStore
        const store = yield* ReadModelStore
        const batch = yield* log.readAll()
        for (const name of projectionNames) expect(yield* applyBatch(name, 0, batch)).toBe(batch.length)
        const once = yield* dump([alice, bob], ["ACME", "BETA"])
        for (const name of projectionNames) {
          expect(yield* applyBatch(name, batch.length, batch)).toBe(batch.length) // everything is at or before the checkpoint
          expect(yield* Effect.exit(applyBatch(name, 0, batch))).toEqual(Exit.fail(new CheckpointMoved({ projection: name, expected: 0 })))
          expect(yield* store.checkpoint(name)).toBe(batch.length)
        }
        expect(yield* dump([alice, bob], ["ACME", "BETA"])).toEqual(once)
      })))

    it.effect("drops a position closed flat with nothing realized, next to other writes of the same commit", () =>
      run(Effect.gen(function*() {
        yield* openMarket(ACME, "10.00")
        const id = yield* openAccountWith("1000.00")
        const other = yield* openAccountWith("500.00")
        yield* trade(id, ACME, "BUY", "5")
        yield* projectAll
        expect((yield* portfolioOf(id)).positions.map((p) => p.symbol)).toEqual(["ACME"])
        yield* trade(id, ACME, "SELL", "5")
        yield* trade(other, ACME, "BUY", "2")
        yield* projectAll
        const closed = yield* portfolioOf(id)
        expect(closed.positions).toEqual([])
        expect(closed.cash).toEqual(decimal("1000.00"))
        expect((yield* portfolioOf(other)).positions.map((p) => [p.symbol, p.quantity])).toEqual([["ACME", decimal("2")]])
      })))

    it.effect("commits several projections in one transaction: all of them or none", () =>
      run(Effect.gen(function*() {
        const { alice, bob } = yield* history
        const log = yield* EventStore
        const store = yield* ReadModelStore
        const events = yield* log.readAll()
        const empty = yield* dump([alice, bob], ["ACME", "BETA"])
        // trades moves on alone: a commit for both that expects it still at 0 writes neither
        expect(yield* applyBatch("trades", 0, events.slice(0, 3))).toBe(3)
        const stale = new Map([["portfolio", 0], ["trades", 0]] as const)
        expect(yield* Effect.exit(applyBatches(stale, events))).toEqual(Exit.fail(new CheckpointMoved({ projection: "trades", expected: 0 })))
        expect(yield* store.checkpoint("portfolio")).toBe(0)
        expect(yield* store.checkpoint("trades")).toBe(3)
        expect((yield* dump([alice, bob], ["ACME", "BETA"])).accounts.map((a) => a.portfolio)).toEqual(empty.accounts.map((a) => a.portfolio))
        // from the stored checkpoints every projection lands, each from its own
        const next = yield* applyBatches(yield* checkpoints, events)
        expect([...next.values()]).toEqual(projectionNames.map(() => events.length))
        for (const name of projectionNames) expect(yield* store.checkpoint(name)).toBe(events.length)
        expect((yield* portfolioOf(alice)).cash).toEqual(decimal("1048.05"))
        // the same rows as projections caught up one by one
        const joint = yield* dump([alice, bob], ["ACME", "BETA"])
        for (const name of projectionNames) yield* rebuild(name)
        expect(yield* dump([alice, bob], ["ACME", "BETA"])).toEqual(joint)
      })))

    it.effect("rebuilds from zero to the same rows, whatever the batches were", () =>
      run(Effect.gen(function*() {
        const { alice, bob } = yield* history
        const log = yield* EventStore
        const events = yield* log.readAll()
        // the live runner's way: one event per batch
        for (const name of projectionNames) {
          let checkpoint = 0
          for (const event of events) checkpoint = yield* applyBatch(name, checkpoint, [event])
        }
        const live = yield* dump([alice, bob], ["ACME", "BETA"])
        expect(live.accounts[1]!.portfolio.pipe(Option.getOrThrow).positions.map((p) => p.symbol)).toEqual(["ACME", "BETA"])
        for (const name of projectionNames) expect(yield* rebuild(name)).toBe(events.length)
        expect(yield* dump([alice, bob], ["ACME", "BETA"])).toEqual(live)
        expect(yield* (yield* ReadModel).position).toBe(events.length)
      })))

    it.effect("loads accounts with their positions, past one statement's chunk of ids: each account once, with its own positions only", () =>
      run(Effect.gen(function*() {
        const store = yield* ReadModelStore
        const at = DateTime.unsafeMake("2026-03-02T14:00:00Z")
        const ids = Array.from({ length: 450 }, (_, i) => `chunked-${String(i).padStart(3, "0")}`)
        const held = (i: number) => i % 3 === 0 ? [] : i % 3 === 1 ? ["ACME"] : ["ACME", "BETA"]
        const position = (accountId: string, symbol: string, i: number) => ({
          accountId, symbol, quantity: decimal(`${i + 1}`), costBasis: decimal(`${10 * (i + 1)}`), realizedPnl: decimal("0"),
          avgCost: decimal("10"), marketPrice: Option.some(decimal("10")), marketValue: Option.some(decimal(`${10 * (i + 1)}`)),
          unrealizedPnl: Option.some(decimal("0")), lastUpdated: at
        })
        const expected = yield* store.checkpoint("portfolio")
        yield* store.commit([{
          projection: "portfolio", expected, next: expected, changes: {
            accounts: ids.map((accountId, i) => ({
              accountId, cash: decimal(`${i}.50`), realizedPnl: decimal("0"), equity: decimal(`${i}.50`), asOfPosition: i + 1, lastUpdated: at
            })),
            positions: ids.flatMap((accountId, i) => held(i).map((symbol) => position(accountId, symbol, i)))
          }
        }])
        const loaded = yield* store.loadAccounts([...ids, "no-such-account", ids[0]!])
        expect(loaded.map((l) => l.account.accountId).sort()).toEqual(ids)
        for (const { account, positions } of loaded) {
          const i = ids.indexOf(account.accountId)
          expect([account.asOfPosition, BigDecimal.equals(account.cash, decimal(`${i}.50`))]).toEqual([i + 1, true])
          expect(positions.map((p) => [p.accountId, p.symbol, BigDecimal.equals(p.quantity, decimal(`${i + 1}`))]).sort())
            .toEqual(held(i).map((symbol) => [account.accountId, symbol, true]))
        }
      })))

    it.effect("consistency check: none on a projected log, every difference after tampering", () =>
      run(Effect.gen(function*() {
        const { alice, bob } = yield* history
        yield* projectAll
        const clean = yield* checkConsistency()
        expect(clean).toEqual({ accounts: 2, position: yield* headPosition, differences: [] })
        const store = yield* ReadModelStore
        const [stored] = yield* store.loadAccounts([alice])
        const acme = stored!.positions.find((p) => p.symbol === "ACME")!
        const portfolioAt = yield* store.checkpoint("portfolio")
        yield* store.commit([{
          projection: "portfolio", expected: portfolioAt, next: portfolioAt, changes: {
            accounts: [{ ...stored!.account, cash: decimal("1.00") }],
            positions: [{ ...acme, quantity: decimal("7"), avgCost: decimal("9.9999") }]
          }
        }])
        const tradesAt = yield* store.checkpoint("trades")
        const [real] = (yield* (yield* ReadModel).trades(bob, { limit: 1 })).items
        yield* store.commit([{ projection: "trades", expected: tradesAt, next: tradesAt, changes: { trades: [{ ...real!, tradeId: "forged-trade" }] } }])
        const report = yield* checkConsistency()
        expect(report.differences.map((d) => [d.accountId, d.kind, d.subject])).toEqual([
          ...[
            [alice, "CASH", "cash"],
            [alice, "QUANTITY", "ACME quantity"],
            [alice, "AVG_COST", "ACME avg cost"]
          ],
          [bob, "TRADE_UNEXPECTED", "forged-trade"]
        ].sort((x, y) => (x[0]! < y[0]! ? -1 : x[0]! > y[0]! ? 1 : 0)))
        expect(report.differences.find((d) => d.kind === "QUANTITY")).toMatchObject({ expected: "6", actual: "7" })
        expect(report.differences.find((d) => d.kind === "AVG_COST")).toMatchObject({ expected: "10.0000", actual: "9.9999" })
        // a rebuild repairs the portfolio; the forged trade stays until trades are rebuilt too
        yield* rebuild("portfolio")
        expect((yield* checkConsistency()).differences.map((d) => d.kind)).toEqual(["TRADE_UNEXPECTED"])
        yield* rebuild("trades")
        expect((yield* checkConsistency()).differences).toEqual([])
      })))

    it.live("runs every projection on the live log; waitFor gives read-your-writes", () =>
      run(Effect.gen(function*() {
        const runner = yield* Effect.fork(runProjections())
        yield* openMarket(ACME, "10.00")
        const id = yield* openAccountWith("1000.00")
        const bought = yield* trade(id, ACME, "BUY", "5")
        const position = bought.recorded[bought.recorded.length - 1]!.position
        expect(yield* waitFor(position, "5 seconds")).toBeGreaterThanOrEqual(position)
        expect((yield* portfolioOf(id)).cash).toEqual(decimal("950.00"))
        // a rebuild next to the running runner: one of them applies each batch, the rows end the same
        const before = yield* dump([id], ["ACME"])
        yield* rebuild("portfolio")
        yield* waitFor(position, "5 seconds")
        expect(yield* dump([id], ["ACME"])).toEqual(before)
        yield* Fiber.interrupt(runner)
      })))

    it.live("with a page interval, the commits made during it are applied in one read-model transaction", () =>
      run(Effect.gen(function*() {
        const store = yield* ReadModelStore
        let transactions = 0
        const counted = ReadModelStore.of({ ...store, commit: (batch) => Effect.tap(store.commit(batch), () => { transactions++ }) })
        yield* openMarket(ACME, "10.00")
        const id = yield* openAccountWith("1000.00")
        const runner = yield* Effect.fork(Effect.provideService(runProjections({ pageInterval: "2 seconds" }), ReadModelStore, counted))
        // the first page after a quiet spell is applied at once
        yield* waitFor(yield* headPosition, "1 second")
        expect(transactions).toBe(1)
        // three commits to the log within the interval: one page, one transaction
        for (const side of ["BUY", "SELL", "BUY"] as const) yield* trade(id, ACME, side, "1")
        const last = yield* headPosition
        expect(transactions).toBe(1)
        yield* waitFor(last, "5 seconds")
        expect(transactions).toBe(2)
        expect((yield* portfolioOf(id)).cash).toEqual(decimal("990.00"))
        yield* Fiber.interrupt(runner)
      })))

    it.live("with a page interval, a runner that is behind reads its full pages at once", () =>
      run(Effect.gen(function*() {
        // more events than a page of the subscription (PAGE_SIZE), of an aggregate no projection reads
        const now = yield* DateTime.now
        const events = Array.from({ length: PAGE_SIZE + 20 }, (_, i): NewEvent => ({
          eventId: randomUUID(), type: "Noted", schemaVersion: 1, timestamp: now, data: new Uint8Array([i % 256]),
          metadata: { userId: "test", correlationId: "c", causationId: "c", commandId: "noted" }
        }))
        yield* Effect.flatMap(EventStore, (log) => log.appendEvents("Notebook-1", 0, events))
        const runner = yield* Effect.fork(runProjections({ pageInterval: "1 hour" }))
        // the full page, then the rest without waiting for the interval
        expect(yield* waitFor(yield* headPosition, "5 seconds")).toBe(PAGE_SIZE + 20)
        yield* Fiber.interrupt(runner)
      })))

    it.live("waitFor fails with ProjectionTimeout when the read model does not get there", () =>
      run(Effect.gen(function*() {
        yield* openMarket(ACME, "10.00")
        yield* projectAll
        const head = yield* headPosition
        expect(yield* waitFor(head, "10 millis")).toBe(head)
        yield* openAccountWith("1.00") // nobody projects it
        expect(yield* Effect.exit(waitFor(head + 1, "30 millis"))).toEqual(
          Exit.fail(new ProjectionTimeout({ position: head + 1, reached: head, waitedMillis: 30 })))
      })))
  })
}
