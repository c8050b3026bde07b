import { describe, expect, it } from "@effect/vitest"
import { BigDecimal, Equal, DateTime, Either, FastCheck as fc, HashMap, Option, Schema } from "effect"
import type { AccountEvent } from "../../src/domain/AccountEvents.js"
import { RiskLimits } from "../../src/domain/AccountEvents.js"
import { fold } from "../../src/domain/Decider.js"
import { zero } from "../../src/domain/Decimal.js"
import { AccountId, Currency, CustomerId, OrderId, Symbol, TradeId } from "../../src/domain/Ids.js"
import { Market, MarketCommand, type MarketState, view } from "../../src/domain/Market.js"
import * as Portfolio from "../../src/domain/Portfolio.js"
import { AccountCommand, AccountState, availableCash, TradingAccount } from "../../src/domain/TradingAccount.js"

const SYMBOLS = [Symbol.make("ACME"), Symbol.make("BOLT")] as const
const cents = (n: number) => BigDecimal.make(BigInt(n), 2)

type Step =
  | { readonly kind: "deposit" | "withdraw"; readonly cents: number }
  | { readonly kind: "tick"; readonly symbol: 0 | 1; readonly cents: number }
  | { readonly kind: "order"; readonly symbol: 0 | 1; readonly side: "BUY" | "SELL"; readonly limitOffset: number | null; readonly lots: number }
  | { readonly kind: "fill"; readonly pick: number; readonly cents: number }
  | { readonly kind: "cancel"; readonly pick: number }
  | { readonly kind: "short"; readonly allow: boolean }

const symbolIndex = fc.constantFrom(0 as const, 1 as const)
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constantFrom("deposit" as const, "withdraw" as const), cents: fc.integer({ min: -100, max: 500_000 }) }),
  fc.record({ kind: fc.constant("tick" as const), symbol: symbolIndex, cents: fc.integer({ min: 500, max: 1500 }) }),
  fc.record({
    kind: fc.constant("order" as const), symbol: symbolIndex, side: fc.constantFrom("BUY" as const, "SELL" as const),
    limitOffset: fc.option(fc.integer({ min: -100, max: 100 }), { nil: null }), lots: fc.integer({ min: 1, max: 4000 })
  }),
  fc.record({ kind: fc.constant("fill" as const), pick: fc.nat(), cents: fc.integer({ min: 500, max: 1500 }) }),
  fc.record({ kind: fc.constant("cancel" as const), pick: fc.nat() }),
  fc.record({ kind: fc.constant("short" as const), allow: fc.boolean() })
)

const t0 = DateTime.unsafeMake("2026-03-02T09:30:00Z")

/** Runs a generated session through the deciders; returns every accepted account event and the states seen. */
const simulate = (steps: ReadonlyArray<Step>) => {
  const accountId = AccountId.make("acc-1")
  let account: AccountState = TradingAccount.initialState
  const markets: Array<MarketState> = SYMBOLS.map(() => Market.initialState)
  const history: Array<AccountEvent> = []
  const states: Array<AccountState> = []
  const apply = (command: AccountCommand) => {
    const decision = TradingAccount.decide(command, account)
    if (Either.isRight(decision)) {
      for (const event of decision.right) {
        history.push(event)
        account = TradingAccount.evolve(account, event)
      }
      states.push(account)
    }
  }
  const applyMarket = (i: 0 | 1, command: MarketCommand) => {
    const decision = Market.decide(command, markets[i]!)
    if (Either.isRight(decision)) markets[i] = decision.right.reduce(Market.evolve, markets[i]!)
  }
  SYMBOLS.forEach((symbol, i) => {
    applyMarket(i as 0 | 1, MarketCommand.OpenMarket({ symbol, priceBand: BigDecimal.unsafeFromString("0.3"), orderBand: BigDecimal.unsafeFromString("0.1"), haltOnAnomaly: false, at: t0 }))
    applyMarket(i as 0 | 1, MarketCommand.UpdatePrice({ price: cents(1000), timestamp: t0 }))
  })
  apply(AccountCommand.OpenAccount({
    accountId, customerId: CustomerId.make("c"), accountType: "INDIVIDUAL", currency: Currency.make("USD"), initialBalance: cents(100_000), at: t0
  }))
  steps.forEach((s, n) => {
    const at = DateTime.add(t0, { seconds: n + 1 })
    switch (s.kind) {
      case "deposit":
        return apply(AccountCommand.DepositFunds({ amount: cents(s.cents), at }))
      case "withdraw":
        return apply(AccountCommand.WithdrawFunds({ amount: cents(s.cents), at }))
      case "tick":
        return applyMarket(s.symbol, MarketCommand.UpdatePrice({ price: cents(s.cents), timestamp: at }))
      case "short":
        return apply(AccountCommand.SetRiskLimits({
          limits: new RiskLimits({ maxOrderNotional: Option.none(), maxPositionPerSymbol: Option.none(), maxGrossExposure: Option.none(), allowShort: s.allow }), at
        }))
      case "order": {
        const market = markets[s.symbol]!
        const last = Option.getOrElse(market.lastPrice, () => cents(1000))
        return apply(AccountCommand.PlaceOrder({
          orderId: OrderId.make(`o-${n}`), tradeId: TradeId.make(`t-${n}`), symbol: SYMBOLS[s.symbol], side: s.side,
          orderType: s.limitOffset === null ? "MARKET" : "LIMIT", quantity: cents(s.lots),
          limitPrice: s.limitOffset === null ? Option.none() : Option.some(BigDecimal.sum(last, cents(s.limitOffset))),
          market: view(SYMBOLS[s.symbol], market), at
        }))
      }
      case "fill":
      case "cancel": {
        if (account._tag !== "Opened") return
        const open = [...HashMap.values(account.openOrders)]
        const order = open[s.pick % Math.max(1, open.length)]
        if (order === undefined) return
        if (s.kind === "cancel") return apply(AccountCommand.CancelOrder({ orderId: order.orderId, at }))
        const i = SYMBOLS.indexOf(order.symbol as typeof SYMBOLS[number]) as 0 | 1
        return apply(AccountCommand.FillOrder({ orderId: order.orderId, tradeId: TradeId.make(`f-${n}`), price: cents(s.cents), market: view(order.symbol, markets[i]!), at }))
      }
    }
  })
  return { history, states, final: account }
}

const opened = (s: AccountState) => {
  if (s._tag !== "Opened") throw new Error("expected an open account")
  return s
}

const runs = { numRuns: 200 }

/**
 * Value equality of two states. `toEqual` alone is not enough here: inside vitest's structural
 * region effect's Hash.hash answers 0, so a HashMap with several keys can look unequal to itself.
 */
const expectSameState = (actual: AccountState, expected: AccountState) => {
  const encode = Schema.encodeSync(AccountState)
  expect(encode(actual)).toEqual(encode(expected))
  expect(Equal.equals(actual, expected)).toBe(true)
}

describe("account properties over generated sessions", () => {
  it("cash and available cash never go below zero", () =>
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      for (const state of simulate(steps).states) {
        const s = opened(state)
        expect(BigDecimal.isNegative(s.portfolio.cash)).toBe(false)
        expect(BigDecimal.isNegative(availableCash(s))).toBe(false)
      }
    }), runs))

  it("positions equal the signed sum of trades, and cash equals the cash flows, exactly", () =>
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const { history, final } = simulate(steps)
      const s = opened(final)
      let cash = zero
      const quantities = new Map<string, BigDecimal.BigDecimal>()
      for (const e of history) {
        if (e._tag === "AccountOpened") cash = e.initialBalance
        if (e._tag === "FundsDeposited") cash = BigDecimal.sum(cash, e.amount)
        if (e._tag === "FundsWithdrawn") cash = BigDecimal.subtract(cash, e.amount)
        if (e._tag === "TradeExecuted") {
          const notional = BigDecimal.multiply(e.quantity, e.price)
          cash = e.tradeType === "BUY" ? BigDecimal.subtract(cash, notional) : BigDecimal.sum(cash, notional)
          const q = quantities.get(e.symbol) ?? zero
          quantities.set(e.symbol, e.tradeType === "BUY" ? BigDecimal.sum(q, e.quantity) : BigDecimal.subtract(q, e.quantity))
        }
      }
      expect(s.portfolio.cash).toEqual(cash)
      for (const symbol of SYMBOLS) {
        expect(Portfolio.position(s.portfolio, symbol).quantity).toEqual(quantities.get(symbol) ?? zero)
      }
    }), runs))

  it("folding the recorded events gives the state the commands produced", () =>
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const { history, final } = simulate(steps)
      expectSameState(fold(TradingAccount)(history), final)
    }), runs))

  it("an encoded snapshot at any point plus the tail folds to the full fold", () =>
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), fc.nat(), (steps, cut) => {
      const { history, final } = simulate(steps)
      const k = cut % (history.length + 1)
      const encoded = Schema.encodeSync(AccountState)(fold(TradingAccount)(history.slice(0, k)))
      const snapshot = Schema.decodeUnknownSync(AccountState)(JSON.parse(JSON.stringify(encoded)))
      expectSameState(fold(TradingAccount)(history.slice(k), snapshot), final)
    }), runs))

  it("realized P&L always equals net cash flow from trading plus the cost basis still held", () =>
    fc.assert(fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const { history, final } = simulate(steps)
      const s = opened(final)
      const external = history.reduce((acc, e) =>
        e._tag === "AccountOpened" ? e.initialBalance
          : e._tag === "FundsDeposited" ? BigDecimal.sum(acc, e.amount)
          : e._tag === "FundsWithdrawn" ? BigDecimal.subtract(acc, e.amount) : acc, zero)
      const held = HashMap.reduce(s.portfolio.positions, zero, (acc, p) => BigDecimal.sum(acc, p.costBasis))
      expect(s.portfolio.realizedPnl).toEqual(BigDecimal.sum(BigDecimal.subtract(s.portfolio.cash, external), held))
    }), runs))

  it("generated sessions do trade: the properties are not vacuous", () => {
    const samples = fc.sample(fc.array(step, { minLength: 40, maxLength: 60 }), { numRuns: 50, seed: 7 })
    const trades = samples.flatMap((steps) => simulate(steps).history.filter((e) => e._tag === "TradeExecuted"))
    const sells = trades.filter((e) => e._tag === "TradeExecuted" && e.tradeType === "SELL")
    expect(trades.length).toBeGreaterThan(100)
    expect(sells.length).toBeGreaterThan(20)
  })
})
