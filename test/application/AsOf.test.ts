import { describe, expect, it } from "@effect/vitest"
import { BigDecimal, DateTime, Effect, Exit, FastCheck, Option, TestClock } from "effect"
import { Accounts, decodeEvents } from "../../src/application/Aggregate.js"
import { balanceHistoryFromEvents, InvalidDateRange, portfolioAsOf, stateAt, statesAt } from "../../src/application/AsOf.js"
import * as Markets from "../../src/application/Markets.js"
import { EventStore } from "../../src/application/ports/EventStore.js"
import * as TradingAccounts from "../../src/application/TradingAccounts.js"
import { AccountOpened, FundsDeposited } from "../../src/domain/AccountEvents.js"
import { decimal } from "../../src/domain/Decimal.js"
import { AccountId, CustomerId, Symbol } from "../../src/domain/Ids.js"
import { fold } from "../../src/domain/Decider.js"
import * as Portfolio from "../../src/domain/Portfolio.js"
import { TradingAccount } from "../../src/domain/TradingAccount.js"
import { ACME, MemoryStores, openAccountWith, USD } from "./fixtures.js"

const utc = (iso: string) => DateTime.unsafeMake(iso)
const setClock = (iso: string) => TestClock.setTime(Date.parse(iso))
const settings: Markets.MarketSettings = { priceBand: decimal("0.5"), orderBand: decimal("0.2"), haltOnAnomaly: false }
const tick = (symbol: Symbol, price: string, feedTime?: string) =>
  Effect.gen(function*() {
    return yield* Markets.updatePrice(symbol, decimal(price), feedTime === undefined ? yield* DateTime.now : utc(feedTime))
  })
const buy = (accountId: AccountId, symbol: Symbol, quantity: string) =>
  TradingAccounts.placeOrder(accountId, { symbol, side: "BUY", orderType: "MARKET", quantity: decimal(quantity), limitPrice: Option.none() })
const sell = (accountId: AccountId, symbol: Symbol, quantity: string) =>
  TradingAccounts.placeOrder(accountId, { symbol, side: "SELL", orderType: "MARKET", quantity: decimal(quantity), limitPrice: Option.none() })

/** The valuation of the account as it stands, marked at each market's current last price. */
const currentValuation = (accountId: AccountId) =>
  Effect.gen(function*() {
    const { state } = yield* TradingAccounts.getAccount(accountId)
    if (state._tag !== "Opened") return yield* Effect.dieMessage("account not open")
    const prices = new Map<Symbol, Option.Option<BigDecimal.BigDecimal>>()
    for (const symbol of Array.from(state.portfolio.positions).map(([s]) => s)) {
      prices.set(symbol, (yield* Markets.marketView(symbol)).lastPrice)
    }
    return Portfolio.valuation(state.portfolio, (symbol) => prices.get(symbol) ?? Option.none())
  })

const some = <A>(o: Option.Option<A>): A => Option.getOrThrowWith(o, () => new Error("expected Some"))

describe("portfolio as of an instant", () => {
  it.effect("answers what the account held at 14:32, marked at the prices of 14:32", () =>
    Effect.gen(function*() {
      yield* setClock("2026-03-02T14:00:00Z")
      yield* Markets.openMarket(ACME, settings)
      yield* tick(ACME, "10")
      const accountId = yield* openAccountWith("1000.00")
      yield* setClock("2026-03-02T14:10:00Z")
      yield* buy(accountId, ACME, "10")
      yield* setClock("2026-03-02T14:20:00Z")
      yield* tick(ACME, "12")
      yield* setClock("2026-03-02T14:31:00Z")
      yield* tick(ACME, "12.5")
      // after 14:32: a tick recorded at 14:32:00.500 with an earlier feed time, a higher price, more trades
      yield* setClock("2026-03-02T14:32:00.500Z")
      yield* tick(ACME, "13", "2026-03-02T14:31:59Z")
      yield* setClock("2026-03-02T14:33:00Z")
      yield* tick(ACME, "15")
      yield* setClock("2026-03-02T14:40:00Z")
      yield* buy(accountId, ACME, "5")
      yield* TradingAccounts.depositFunds(accountId, decimal("100"))

      const at1432 = some(yield* portfolioAsOf(accountId, utc("2026-03-02T14:32:00Z")))
      expect(at1432.version).toBe(3) // AccountOpened, OrderPlaced, TradeExecuted
      expect(DateTime.formatIso(at1432.asOf)).toBe("2026-03-02T14:32:00.000Z")
      expect(at1432.valuation.cash).toEqual(decimal("900"))
      expect(at1432.valuation.positions).toHaveLength(1)
      const [position] = at1432.valuation.positions
      expect(position).toMatchObject({ symbol: ACME, quantity: decimal("10"), costBasis: decimal("100") })
      expect(position!.marketPrice).toEqual(Option.some(decimal("12.5")))
      expect(position!.marketValue).toEqual(Option.some(decimal("125")))
      expect(position!.unrealizedPnl).toEqual(Option.some(decimal("25")))
      expect(at1432.valuation.equity).toEqual(decimal("1025"))
      expect(at1432.prices).toEqual([{ symbol: ACME, price: Option.some(decimal("12.5")), feedTime: Option.some(utc("2026-03-02T14:31:00Z")) }])

      // a second later the 13 (recorded at 14:32:00.5, fed as of 14:31:59) is known
      const at1433 = some(yield* portfolioAsOf(accountId, utc("2026-03-02T14:32:01Z")))
      expect(at1433.prices).toEqual([{ symbol: ACME, price: Option.some(decimal("13")), feedTime: Option.some(utc("2026-03-02T14:31:59Z")) }])
      expect(at1433.valuation.equity).toEqual(decimal("1030"))

      const now = some(yield* portfolioAsOf(accountId, yield* DateTime.now))
      expect(now.valuation.cash).toEqual(decimal("925"))
      expect(now.valuation.positions[0]!.quantity).toEqual(decimal("15"))
      expect(now.valuation.equity).toEqual(decimal("1150"))
      expect(now.valuation).toEqual(yield* currentValuation(accountId))
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("has no answer before the account opened, or for an account that never did", () =>
    Effect.gen(function*() {
      yield* setClock("2026-03-02T14:00:00Z")
      const accountId = yield* openAccountWith("100.00")
      expect(yield* portfolioAsOf(accountId, utc("2026-03-02T13:59:59.999Z"))).toEqual(Option.none())
      expect(Option.isSome(yield* portfolioAsOf(accountId, utc("2026-03-02T14:00:00Z")))).toBe(true)
      expect(yield* portfolioAsOf(AccountId.make("nobody"), utc("2026-03-02T15:00:00Z"))).toEqual(Option.none())
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("keeps a position closed before the instant, with its realized P&L and no market value", () =>
    Effect.gen(function*() {
      yield* setClock("2026-03-02T14:00:00Z")
      yield* Markets.openMarket(ACME, settings)
      yield* tick(ACME, "10")
      const accountId = yield* openAccountWith("1000.00")
      yield* buy(accountId, ACME, "10")
      yield* setClock("2026-03-02T14:30:00Z")
      yield* tick(ACME, "12")
      yield* sell(accountId, ACME, "10")
      yield* setClock("2026-03-02T15:00:00Z")
      yield* tick(ACME, "14")
      const open = some(yield* portfolioAsOf(accountId, utc("2026-03-02T14:29:59Z")))
      expect(open.valuation.positions[0]!.quantity).toEqual(decimal("10"))
      expect(open.valuation.equity).toEqual(decimal("1000"))
      const closed = some(yield* portfolioAsOf(accountId, utc("2026-03-02T14:45:00Z")))
      expect(closed.valuation.positions[0]).toMatchObject({ quantity: decimal("0"), realizedPnl: decimal("20") })
      expect(closed.valuation.positions[0]!.marketValue).toEqual(Option.some(decimal("0")))
      expect(closed.valuation.equity).toEqual(decimal("1020"))
      expect(closed.prices[0]!.price).toEqual(Option.some(decimal("12")))
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("reads the stream in pages and agrees with a plain fold of the events stamped up to each instant", () =>
    Effect.gen(function*() {
      yield* setClock("2026-03-02T09:00:00Z")
      const accountId = yield* openAccountWith("0.00")
      const instants: Array<DateTime.Utc> = [utc("2026-03-02T08:59:59Z")]
      for (let i = 1; i <= 25; i++) {
        yield* TestClock.adjust(`${i} minutes`)
        yield* TradingAccounts.depositFunds(accountId, decimal(`${i}`))
        if (i % 3 === 0) yield* TradingAccounts.withdrawFunds(accountId, decimal("1"))
        instants.push(yield* DateTime.now, DateTime.add(yield* DateTime.now, { seconds: 30 }))
      }
      const shuffled = [...instants].reverse()
      const paged = yield* statesAt(Accounts)(accountId, shuffled, 4)
      const whole = yield* statesAt(Accounts)(accountId, shuffled)
      expect(paged.map((l) => l.version)).toEqual(whole.map((l) => l.version))
      const all = yield* Effect.flatMap(EventStore, (store) => store.getEvents(`account-${accountId}`))
      for (const [i, at] of shuffled.entries()) {
        const upTo = all.filter((e) => DateTime.lessThanOrEqualTo(e.timestamp, at))
        expect(paged[i]!.version).toBe(upTo.length)
        expect(paged[i]!.state).toEqual(fold(TradingAccount)(yield* decodeEvents(Accounts, upTo)))
      }
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("holds back an event stamped earlier than one before it (a clock that stepped back), with the rest of the stream", () =>
    Effect.gen(function*() {
      yield* setClock("2026-03-02T10:00:00Z")
      const store = yield* EventStore
      const accountId = AccountId.make("stepped-back")
      const envelope = (event: AccountOpened | FundsDeposited, stamp: string, n: number) => ({
        ...Accounts.codec.encode(event), eventId: `e-${n}`, timestamp: utc(stamp),
        metadata: { userId: "test", correlationId: `c-${n}`, causationId: `c-${n}`, commandId: `c-${n}` }
      })
      const deposit = (amount: string) => new FundsDeposited({ accountId, amount: decimal(amount), depositedAt: utc("2026-03-02T10:00:00Z") })
      yield* store.appendEvents(`account-${accountId}`, 0, [
        envelope(new AccountOpened({
          accountId, customerId: CustomerId.make("c"), accountType: "INDIVIDUAL", initialBalance: decimal("0"), currency: USD,
          openedAt: utc("2026-03-02T10:00:00Z")
        }), "2026-03-02T10:00:00Z", 1),
        envelope(deposit("100"), "2026-03-02T10:05:00Z", 2),
        envelope(deposit("50"), "2026-03-02T10:03:00Z", 3),
        envelope(deposit("25"), "2026-03-02T10:06:00Z", 4)
      ])
      const cash = (at: string) =>
        Effect.map(stateAt(Accounts)(accountId, utc(at)), ({ state, version }) =>
          [version, state._tag === "Opened" ? BigDecimal.format(state.portfolio.cash) : "-"])
      expect(yield* cash("2026-03-02T10:04:00Z")).toEqual([1, "0"]) // the 50 waits for the 100 before it
      expect(yield* cash("2026-03-02T10:05:00Z")).toEqual([3, "150"])
      expect(yield* cash("2026-03-02T10:06:00Z")).toEqual([4, "175"])
    }).pipe(Effect.provide(MemoryStores)))

  const Action = FastCheck.oneof(
    FastCheck.record({ kind: FastCheck.constant("deposit" as const), cents: FastCheck.integer({ min: 1, max: 500_00 }) }),
    FastCheck.record({ kind: FastCheck.constant("withdraw" as const), cents: FastCheck.integer({ min: 1, max: 500_00 }) }),
    FastCheck.record({ kind: FastCheck.constant("buy" as const), beta: FastCheck.boolean(), quantity: FastCheck.integer({ min: 1, max: 40 }) }),
    FastCheck.record({ kind: FastCheck.constant("sell" as const), beta: FastCheck.boolean(), quantity: FastCheck.integer({ min: 1, max: 40 }) }),
    FastCheck.record({ kind: FastCheck.constant("tick" as const), beta: FastCheck.boolean(), bps: FastCheck.integer({ min: -2000, max: 2000 }) })
  )
  // at least a second apart, so each recorded state is the whole of its instant
  const Step = FastCheck.record({ action: Action, waitSeconds: FastCheck.integer({ min: 1, max: 6 * 3600 }) })

  it.effect.prop(
    "the past asked later is what the present said then: portfolioAsOf(t) equals the valuation at t",
    [FastCheck.array(Step, { minLength: 1, maxLength: 25 })],
    ([steps]) =>
      Effect.gen(function*() {
        yield* setClock("2026-03-02T09:00:00Z")
        const BETA = Symbol.make("BETA")
        const prices = new Map<Symbol, BigDecimal.BigDecimal>([[ACME, decimal("10")], [BETA, decimal("250.5")]])
        for (const [symbol, price] of prices) {
          yield* Markets.openMarket(symbol, settings)
          yield* Markets.updatePrice(symbol, price, yield* DateTime.now)
        }
        const accountId = yield* openAccountWith("5000.00")
        const seen: Array<readonly [DateTime.Utc, Portfolio.Valuation]> = []
        for (const { action, waitSeconds } of steps) {
          yield* TestClock.adjust(`${waitSeconds} seconds`)
          const symbol = "beta" in action && action.beta ? BETA : ACME
          switch (action.kind) {
            case "deposit":
              yield* Effect.either(TradingAccounts.depositFunds(accountId, BigDecimal.make(BigInt(action.cents), 2)))
              break
            case "withdraw":
              yield* Effect.either(TradingAccounts.withdrawFunds(accountId, BigDecimal.make(BigInt(action.cents), 2)))
              break
            case "buy":
              yield* Effect.either(buy(accountId, symbol, `${action.quantity}`))
              break
            case "sell":
              yield* Effect.either(sell(accountId, symbol, `${action.quantity}`))
              break
            case "tick": {
              const next = BigDecimal.round(BigDecimal.multiply(prices.get(symbol)!, BigDecimal.make(BigInt(10_000 + action.bps), 4)), { scale: 4 })
              prices.set(symbol, next)
              yield* Effect.either(Markets.updatePrice(symbol, next, yield* DateTime.now))
              break
            }
          }
          seen.push([yield* DateTime.now, yield* currentValuation(accountId)])
        }
        for (const [at, valuation] of seen) {
          expect(some(yield* portfolioAsOf(accountId, at)).valuation).toEqual(valuation)
        }
      }).pipe(Effect.provide(MemoryStores)),
    { fastCheck: { numRuns: 25 } }
  )
})

describe("balance history from events", () => {
  const history = Effect.gen(function*() {
    yield* setClock("2026-03-02T10:00:00Z")
    yield* Markets.openMarket(ACME, settings)
    yield* tick(ACME, "10")
    const accountId = yield* openAccountWith("1000.00")
    yield* setClock("2026-03-02T15:00:00Z")
    yield* buy(accountId, ACME, "10")
    yield* setClock("2026-03-03T12:00:00Z")
    yield* tick(ACME, "11")
    yield* setClock("2026-03-05T09:00:00Z")
    yield* TradingAccounts.depositFunds(accountId, decimal("50"))
    yield* setClock("2026-03-05T16:00:00Z")
    yield* tick(ACME, "9")
    yield* setClock("2026-03-05T23:59:59.999Z")
    yield* tick(ACME, "9.5") // the day's last millisecond: still 5 March
    yield* setClock("2026-03-06T00:00:00Z")
    yield* tick(ACME, "12") // midnight: 6 March
    yield* setClock("2026-03-06T10:00:00Z")
    return accountId
  })

  it.effect("gives end-of-day cash and equity for each day the account existed, up to today", () =>
    Effect.gen(function*() {
      const accountId = yield* history
      const points = yield* balanceHistoryFromEvents(accountId, "2026-03-01", "2026-03-08")
      expect(points.map((p) => [p.date, BigDecimal.format(p.cash), BigDecimal.format(p.equity)])).toEqual([
        ["2026-03-02", "900", "1000"],
        ["2026-03-03", "900", "1010"],
        ["2026-03-04", "900", "1010"],
        ["2026-03-05", "950", "1045"],
        ["2026-03-06", "950", "1070"]
      ])
      // each point is portfolioAsOf at the day's last millisecond
      for (const point of points) {
        const end = DateTime.subtract(DateTime.add(utc(`${point.date}T00:00:00Z`), { days: 1 }), { millis: 1 })
        const asOf = some(yield* portfolioAsOf(accountId, end))
        expect([asOf.valuation.cash, asOf.valuation.equity]).toEqual([point.cash, point.equity])
      }
      const middle = yield* balanceHistoryFromEvents(accountId, "2026-03-04", "2026-03-04")
      expect(middle).toEqual([points[2]])
      expect(yield* balanceHistoryFromEvents(AccountId.make("nobody"), "2026-03-01", "2026-03-08")).toEqual([])
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("refuses a range that is not two YYYY-MM-DD dates in order", () =>
    Effect.gen(function*() {
      const accountId = yield* history
      for (const [from, to] of [["2026-02-30", "2026-03-02"], ["2026-3-1", "2026-03-02"], ["2026-03-02", "tomorrow"], ["2026-03-05", "2026-03-04"]]) {
        const exit = yield* Effect.exit(balanceHistoryFromEvents(accountId, from!, to!))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(exit).toMatchObject(Exit.fail(expect.any(InvalidDateRange)))
      }
    }).pipe(Effect.provide(MemoryStores)))
})
