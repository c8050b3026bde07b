import { describe, expect, it } from "@effect/vitest"
import { BigDecimal, DateTime, Either, HashMap, Option, Schema } from "effect"
import {
  AccountEvent, AccountOpened, FundsDeposited, FundsWithdrawn, OrderCancelled, OrderPlaced, OrderRejected, type OrderType,
  RiskLimits, RiskLimitsSet, type Side, TradeExecuted
} from "../../src/domain/AccountEvents.js"
import {
  AccountAlreadyOpen, AccountNotOpen, GrossExposureLimitExceeded, InsufficientFunds, InsufficientPosition, InvalidAmount,
  InvalidOrder, MarketClosed, MarketHalted, NoReferencePrice, OrderNotCrossed, OrderNotFound, OrderNotionalLimitExceeded,
  type OrderRefusal, PositionLimitExceeded, PriceOutsideBand
} from "../../src/domain/AccountRejections.js"
import { fold } from "../../src/domain/Decider.js"
import { decimal, zero } from "../../src/domain/Decimal.js"
import { AccountId, Currency, CustomerId, OrderId, Symbol, TradeId } from "../../src/domain/Ids.js"
import type { MarketStatus, MarketView } from "../../src/domain/Market.js"
import * as Portfolio from "../../src/domain/Portfolio.js"
import {
  AccountCommand, availableCash, availablePosition, noLimits, type Opened, TradingAccount
} from "../../src/domain/TradingAccount.js"

// ---- fixtures ----

const at = DateTime.unsafeMake("2026-03-02T14:32:00Z")
const earlier = DateTime.unsafeMake("2026-03-02T14:00:00Z")
const accountId = AccountId.make("a-1")
const customerId = CustomerId.make("c-1")
const USD = Currency.make("USD")
const AAPL = Symbol.make("AAPL")
const MSFT = Symbol.make("MSFT")

const given = (events: ReadonlyArray<AccountEvent>) => ({
  when: (command: AccountCommand) => TradingAccount.decide(command, fold(TradingAccount)(events))
})

/** The account after `events`, which must open it. */
const stateOf = (events: ReadonlyArray<AccountEvent>): Opened => {
  const state = fold(TradingAccount)(events)
  if (state._tag !== "Opened") throw new Error("expected an open account")
  return state
}

/** The events a command decided, failing the test on a rejection. */
const accepted = (decision: Either.Either<ReadonlyArray<AccountEvent>, unknown>): ReadonlyArray<AccountEvent> =>
  Either.getOrThrowWith(decision, (rejection) => new Error(`unexpected rejection: ${String(rejection)}`))

/** The rejection of a command, failing the test when it was accepted. */
const rejected = <R>(decision: Either.Either<ReadonlyArray<AccountEvent>, R>): R =>
  Either.match(decision, {
    onLeft: (r) => r,
    onRight: (events) => {
      throw new Error(`unexpected acceptance: ${events.map((e) => e._tag).join(", ")}`)
    }
  })

const opened = (initialBalance = "10000.00") =>
  new AccountOpened({
    accountId, customerId, accountType: "INDIVIDUAL", initialBalance: decimal(initialBalance), currency: USD, openedAt: earlier
  })

const deposited = (amount: string) => new FundsDeposited({ accountId, amount: decimal(amount), depositedAt: earlier })
const withdrawn = (amount: string) => new FundsWithdrawn({ accountId, amount: decimal(amount), withdrawnAt: earlier })

interface LimitsInput {
  readonly maxOrderNotional?: string
  readonly maxPositionPerSymbol?: string
  readonly maxGrossExposure?: string
  readonly allowShort?: boolean
}
const riskLimits = (l: LimitsInput) =>
  new RiskLimits({
    maxOrderNotional: Option.map(Option.fromNullable(l.maxOrderNotional), decimal),
    maxPositionPerSymbol: Option.map(Option.fromNullable(l.maxPositionPerSymbol), decimal),
    maxGrossExposure: Option.map(Option.fromNullable(l.maxGrossExposure), decimal),
    allowShort: l.allowShort ?? false
  })
const limitsSet = (l: LimitsInput) => new RiskLimitsSet({ accountId, limits: riskLimits(l), setAt: earlier })

/** A MARKET order filled at once: its OrderPlaced and TradeExecuted. */
const filled = (orderId: string, symbol: Symbol, side: Side, quantity: string, price: string): ReadonlyArray<AccountEvent> => [
  new OrderPlaced({
    accountId, orderId: OrderId.make(orderId), symbol, side, orderType: "MARKET", quantity: decimal(quantity),
    limitPrice: Option.none(), reserved: zero, placedAt: earlier
  }),
  new TradeExecuted({
    tradeId: TradeId.make(`t-${orderId}`), accountId, orderId: OrderId.make(orderId), symbol, quantity: decimal(quantity),
    price: decimal(price), tradeType: side, executedAt: earlier
  })
]

/** A LIMIT order that rests: a BUY reserves quantity × limit, a SELL nothing. */
const resting = (orderId: string, symbol: Symbol, side: Side, quantity: string, limitPrice: string) =>
  new OrderPlaced({
    accountId, orderId: OrderId.make(orderId), symbol, side, orderType: "LIMIT", quantity: decimal(quantity),
    limitPrice: Option.some(decimal(limitPrice)),
    reserved: side === "BUY" ? BigDecimal.multiply(decimal(quantity), decimal(limitPrice)) : zero,
    placedAt: earlier
  })

const market = (
  lastPrice: string | null = "100.00",
  status: MarketStatus = "OPEN",
  symbol: Symbol = AAPL
): MarketView => ({
  symbol,
  status,
  lastPrice: lastPrice === null ? Option.none() : Option.some(decimal(lastPrice)),
  orderBand: decimal("0.10")
})

interface OrderInput {
  readonly side: Side
  readonly quantity: string
  readonly orderType?: OrderType
  readonly limitPrice?: string
  readonly symbol?: Symbol
  readonly market?: MarketView
  readonly orderId?: string
}
const placeOrder = (o: OrderInput) => {
  const symbol = o.symbol ?? AAPL
  return AccountCommand.PlaceOrder({
    orderId: OrderId.make(o.orderId ?? "o-1"),
    tradeId: TradeId.make("t-1"),
    symbol,
    side: o.side,
    orderType: o.orderType ?? (o.limitPrice === undefined ? "MARKET" : "LIMIT"),
    quantity: decimal(o.quantity),
    limitPrice: Option.map(Option.fromNullable(o.limitPrice), decimal),
    market: o.market ?? market("100.00", "OPEN", symbol),
    at
  })
}

const fillOrder = (orderId: string, price: string, view: MarketView = market()) =>
  AccountCommand.FillOrder({ orderId: OrderId.make(orderId), tradeId: TradeId.make("t-fill"), price: decimal(price), market: view, at })

const cancelOrder = (orderId: string) => AccountCommand.CancelOrder({ orderId: OrderId.make(orderId), at })

const openAccount = (initialBalance: string) =>
  AccountCommand.OpenAccount({
    accountId, customerId, accountType: "CORPORATE", currency: USD, initialBalance: decimal(initialBalance), at
  })

const deposit = (amount: string) => AccountCommand.DepositFunds({ amount: decimal(amount), at })
const withdraw = (amount: string) => AccountCommand.WithdrawFunds({ amount: decimal(amount), at })
const setLimits = (l: LimitsInput) => AccountCommand.SetRiskLimits({ limits: riskLimits(l), at })

// ---- open ----

describe("OpenAccount", () => {
  it("opens an unopened account with its initial balance", () => {
    expect(given([]).when(openAccount("2500.50"))).toEqual(Either.right([
      new AccountOpened({
        accountId, customerId, accountType: "CORPORATE", initialBalance: decimal("2500.50"), currency: USD, openedAt: at
      })
    ]))
  })

  it("starts the account with the initial balance as cash, no positions, no orders and no limits", () => {
    const state = stateOf(accepted(given([]).when(openAccount("2500.50"))))
    expect(state.portfolio.cash).toEqual(decimal("2500.5"))
    expect(HashMap.size(state.portfolio.positions)).toBe(0)
    expect(HashMap.size(state.openOrders)).toBe(0)
    expect(state.limits).toEqual(noLimits)
    expect(state.accountType).toBe("CORPORATE")
  })

  it("accepts a zero initial balance", () => {
    expect(Either.isRight(given([]).when(openAccount("0")))).toBe(true)
  })

  it("accepts trailing zeros beyond two decimals (100.100 is 100.1)", () => {
    expect(Either.isRight(given([]).when(openAccount("100.100")))).toBe(true)
  })

  it("refuses to open an account twice: ACCOUNT_ALREADY_OPEN", () => {
    const rejection = rejected(given([opened()]).when(openAccount("1.00")))
    expect(rejection).toEqual(new AccountAlreadyOpen())
    expect(rejection.code).toBe("ACCOUNT_ALREADY_OPEN")
  })

  it("refuses a negative initial balance: INVALID_AMOUNT on initialBalance", () => {
    const rejection = rejected(given([]).when(openAccount("-0.01")))
    expect(rejection).toEqual(new InvalidAmount({ field: "initialBalance", value: decimal("-0.01"), problem: "NEGATIVE" }))
    expect(rejection.code).toBe("INVALID_AMOUNT")
  })

  it("refuses an initial balance with more than two decimals: INVALID_AMOUNT on initialBalance", () => {
    const rejection = rejected(given([]).when(openAccount("100.001")))
    expect(rejection).toEqual(
      new InvalidAmount({ field: "initialBalance", value: decimal("100.001"), problem: "TOO_MANY_DECIMALS" })
    )
    expect(rejection.code).toBe("INVALID_AMOUNT")
  })
})

// ---- deposit and withdraw ----

describe("DepositFunds", () => {
  it("deposits into an open account and adds to cash", () => {
    const events = accepted(given([opened("100.00")]).when(deposit("0.10")))
    expect(events).toEqual([new FundsDeposited({ accountId, amount: decimal("0.10"), depositedAt: at })])
    expect(stateOf([opened("100.00"), ...events]).portfolio.cash).toEqual(decimal("100.10"))
  })

  it("keeps cash exact over many small deposits (0.1 + 0.2 = 0.3)", () => {
    const state = stateOf([opened("0"), deposited("0.10"), deposited("0.20")])
    expect(state.portfolio.cash).toEqual(decimal("0.3"))
  })

  it("refuses a deposit into an unopened account: ACCOUNT_NOT_OPEN", () => {
    const rejection = rejected(given([]).when(deposit("10.00")))
    expect(rejection).toEqual(new AccountNotOpen())
    expect(rejection.code).toBe("ACCOUNT_NOT_OPEN")
  })

  it.each(["0", "-5.00"])("refuses a non-positive deposit (%s): INVALID_AMOUNT NOT_POSITIVE", (amount) => {
    const rejection = rejected(given([opened()]).when(deposit(amount)))
    expect(rejection).toEqual(new InvalidAmount({ field: "amount", value: decimal(amount), problem: "NOT_POSITIVE" }))
    expect(rejection.code).toBe("INVALID_AMOUNT")
  })

  it("refuses a deposit with more than two decimals: INVALID_AMOUNT TOO_MANY_DECIMALS", () => {
    expect(given([opened()]).when(deposit("1.005"))).toEqual(
      Either.left(new InvalidAmount({ field: "amount", value: decimal("1.005"), problem: "TOO_MANY_DECIMALS" }))
    )
  })
})

describe("WithdrawFunds", () => {
  it("withdraws up to the available cash", () => {
    const events = accepted(given([opened("0"), deposited("0.30")]).when(withdraw("0.30")))
    expect(events).toEqual([new FundsWithdrawn({ accountId, amount: decimal("0.30"), withdrawnAt: at })])
    expect(BigDecimal.isZero(stateOf([opened("0"), deposited("0.30"), ...events]).portfolio.cash)).toBe(true)
  })

  it("refuses a withdrawal from an unopened account: ACCOUNT_NOT_OPEN", () => {
    expect(given([]).when(withdraw("1.00"))).toEqual(Either.left(new AccountNotOpen()))
  })

  it.each(["0", "-1.00"])("refuses a non-positive withdrawal (%s): INVALID_AMOUNT NOT_POSITIVE", (amount) => {
    expect(given([opened()]).when(withdraw(amount))).toEqual(
      Either.left(new InvalidAmount({ field: "amount", value: decimal(amount), problem: "NOT_POSITIVE" }))
    )
  })

  it("refuses a withdrawal with more than two decimals: INVALID_AMOUNT TOO_MANY_DECIMALS", () => {
    expect(given([opened()]).when(withdraw("0.001"))).toEqual(
      Either.left(new InvalidAmount({ field: "amount", value: decimal("0.001"), problem: "TOO_MANY_DECIMALS" }))
    )
  })

  it("refuses a withdrawal above the cash: INSUFFICIENT_FUNDS with requested and available", () => {
    const rejection = rejected(given([opened("0"), deposited("0.30")]).when(withdraw("0.31")))
    expect(rejection).toEqual(new InsufficientFunds({ requested: decimal("0.31"), available: decimal("0.30") }))
    expect(rejection.code).toBe("INSUFFICIENT_FUNDS")
  })

  it("counts earlier withdrawals", () => {
    expect(given([opened("100.00"), withdrawn("60.00")]).when(withdraw("40.01"))).toEqual(
      Either.left(new InsufficientFunds({ requested: decimal("40.01"), available: decimal("40.00") }))
    )
  })

  it("does not let cash reserved by a resting BUY be withdrawn", () => {
    // 1000 cash, a BUY of 5 @ 95 rests and reserves 475: 525 is available
    const history = [opened("1000.00"), resting("o-9", AAPL, "BUY", "5", "95.00")]
    expect(availableCash(stateOf(history))).toEqual(decimal("525"))
    expect(given(history).when(withdraw("525.01"))).toEqual(
      Either.left(new InsufficientFunds({ requested: decimal("525.01"), available: decimal("525.00") }))
    )
    expect(Either.isRight(given(history).when(withdraw("525.00")))).toBe(true)
  })
})

// ---- risk limits ----

describe("SetRiskLimits", () => {
  it("sets the limits (two decimals allowed), which the account then holds", () => {
    const limits = { maxOrderNotional: "5000.50", maxPositionPerSymbol: "100.25", maxGrossExposure: "20000.75", allowShort: true }
    const events = accepted(given([opened()]).when(setLimits(limits)))
    expect(events).toEqual([new RiskLimitsSet({ accountId, limits: riskLimits(limits), setAt: at })])
    expect(stateOf([opened(), ...events]).limits).toEqual(riskLimits(limits))
  })

  it("accepts absent limits (none applies)", () => {
    const events = accepted(given([opened(), limitsSet({ maxOrderNotional: "1" })]).when(setLimits({})))
    expect(stateOf([opened(), limitsSet({ maxOrderNotional: "1" }), ...events]).limits).toEqual(noLimits)
  })

  it("refuses limits for an unopened account: ACCOUNT_NOT_OPEN", () => {
    expect(given([]).when(setLimits({ maxOrderNotional: "100" }))).toEqual(Either.left(new AccountNotOpen()))
  })

  it.each([
    ["maxOrderNotional", { maxOrderNotional: "-0.01" }, "-0.01", "NEGATIVE"],
    ["maxOrderNotional", { maxOrderNotional: "100.001" }, "100.001", "TOO_MANY_DECIMALS"],
    ["maxPositionPerSymbol", { maxPositionPerSymbol: "-1" }, "-1", "NEGATIVE"],
    ["maxPositionPerSymbol", { maxPositionPerSymbol: "10.555" }, "10.555", "TOO_MANY_DECIMALS"],
    ["maxGrossExposure", { maxGrossExposure: "-100" }, "-100", "NEGATIVE"],
    ["maxGrossExposure", { maxGrossExposure: "1.999" }, "1.999", "TOO_MANY_DECIMALS"]
  ] as const)("refuses an invalid %s (%o): INVALID_AMOUNT with the field", (field, limits, value, problem) => {
    const rejection = rejected(given([opened()]).when(setLimits(limits)))
    expect(rejection).toEqual(new InvalidAmount({ field, value: decimal(value), problem }))
    expect(rejection.code).toBe("INVALID_AMOUNT")
  })
})

describe("SetRiskLimits: zero", () => {
  it("accepts a zero limit, meaning no new exposure, and then refuses any order that adds to a position", () => {
    const history = [opened("10000.00"), limitsSet({ maxPositionPerSymbol: "0" })]
    expect(rejected(given(history).when(placeOrder({ side: "BUY", quantity: "1" }))).code).toBe("MAX_POSITION_EXCEEDED")
  })
})

// ---- place order ----

describe("PlaceOrder: fills", () => {
  it("fills a MARKET BUY at once at the last price: OrderPlaced then TradeExecuted", () => {
    expect(given([opened()]).when(placeOrder({ side: "BUY", quantity: "10" }))).toEqual(Either.right([
      new OrderPlaced({
        accountId, orderId: OrderId.make("o-1"), symbol: AAPL, side: "BUY", orderType: "MARKET", quantity: decimal("10"),
        limitPrice: Option.none(), reserved: zero, placedAt: at
      }),
      new TradeExecuted({
        tradeId: TradeId.make("t-1"), accountId, orderId: OrderId.make("o-1"), symbol: AAPL, quantity: decimal("10"),
        price: decimal("100.00"), tradeType: "BUY", executedAt: at
      })
    ]))
  })

  it("moves cash and position by the fill, leaving no open order", () => {
    const history = [opened("10000.00")]
    const state = stateOf([...history, ...accepted(given(history).when(placeOrder({ side: "BUY", quantity: "10" })))])
    expect(state.portfolio.cash).toEqual(decimal("9000"))
    expect(Portfolio.position(state.portfolio, AAPL)).toEqual(
      new Portfolio.Position({ quantity: decimal("10"), costBasis: decimal("1000"), realizedPnl: zero })
    )
    expect(HashMap.size(state.openOrders)).toBe(0)
  })

  it("fills a MARKET SELL of a held position at the last price and realizes the P&L", () => {
    const history = [opened("10000.00"), ...filled("o-0", AAPL, "BUY", "10", "90.00")]
    const events = accepted(given(history).when(placeOrder({ side: "SELL", quantity: "4" })))
    expect(events[1]).toEqual(new TradeExecuted({
      tradeId: TradeId.make("t-1"), accountId, orderId: OrderId.make("o-1"), symbol: AAPL, quantity: decimal("4"),
      price: decimal("100"), tradeType: "SELL", executedAt: at
    }))
    const state = stateOf([...history, ...events])
    expect(state.portfolio.cash).toEqual(decimal("9500"))
    expect(state.portfolio.realizedPnl).toEqual(decimal("40"))
  })

  it("fills a marketable LIMIT BUY (limit at or above last) at once at the last price, not the limit", () => {
    const events = accepted(given([opened()]).when(placeOrder({ side: "BUY", quantity: "10", limitPrice: "105.00" })))
    expect(events).toEqual([
      new OrderPlaced({
        accountId, orderId: OrderId.make("o-1"), symbol: AAPL, side: "BUY", orderType: "LIMIT", quantity: decimal("10"),
        limitPrice: Option.some(decimal("105")), reserved: zero, placedAt: at
      }),
      new TradeExecuted({
        tradeId: TradeId.make("t-1"), accountId, orderId: OrderId.make("o-1"), symbol: AAPL, quantity: decimal("10"),
        price: decimal("100"), tradeType: "BUY", executedAt: at
      })
    ])
    expect(HashMap.size(stateOf([opened(), ...events]).openOrders)).toBe(0)
  })

  it("fills a LIMIT BUY at exactly the last price at once", () => {
    const events = accepted(given([opened()]).when(placeOrder({ side: "BUY", quantity: "1", limitPrice: "100" })))
    expect(events.map((e) => e._tag)).toEqual(["OrderPlaced", "TradeExecuted"])
  })

  it("fills a marketable LIMIT SELL (limit at or below last) at once at the last price", () => {
    const history = [opened(), ...filled("o-0", AAPL, "BUY", "10", "90.00")]
    const events = accepted(given(history).when(placeOrder({ side: "SELL", quantity: "10", limitPrice: "95.00" })))
    expect(events[1]).toEqual(new TradeExecuted({
      tradeId: TradeId.make("t-1"), accountId, orderId: OrderId.make("o-1"), symbol: AAPL, quantity: decimal("10"),
      price: decimal("100"), tradeType: "SELL", executedAt: at
    }))
  })

  it("checks a marketable LIMIT BUY's funds at the last price (10 × 100 fits 1000 even with a limit of 105)", () => {
    expect(Either.isRight(given([opened("1000.00")]).when(placeOrder({ side: "BUY", quantity: "10", limitPrice: "105" }))))
      .toBe(true)
  })
})

describe("PlaceOrder: resting LIMIT orders", () => {
  it("rests a non-marketable LIMIT BUY, reserving quantity × limit", () => {
    expect(given([opened()]).when(placeOrder({ side: "BUY", quantity: "10", limitPrice: "95.50" }))).toEqual(Either.right([
      new OrderPlaced({
        accountId, orderId: OrderId.make("o-1"), symbol: AAPL, side: "BUY", orderType: "LIMIT", quantity: decimal("10"),
        limitPrice: Option.some(decimal("95.50")), reserved: decimal("955.00"), placedAt: at
      })
    ]))
  })

  it("keeps the resting BUY as an open order and lowers available cash, not cash", () => {
    const history = [opened("10000.00")]
    const state = stateOf([...history, ...accepted(given(history).when(placeOrder({ side: "BUY", quantity: "10", limitPrice: "95.50" })))])
    expect(state.portfolio.cash).toEqual(decimal("10000"))
    expect(availableCash(state)).toEqual(decimal("9045"))
    expect(Option.map(HashMap.get(state.openOrders, OrderId.make("o-1")), (o) => [o.side, o.quantity, o.limitPrice, o.reserved]))
      .toEqual(Option.some(["BUY", decimal("10"), decimal("95.5"), decimal("955")]))
    expect(Portfolio.position(state.portfolio, AAPL).quantity).toEqual(zero)
  })

  it("rests a non-marketable LIMIT SELL with nothing reserved and lowers the available position", () => {
    const history = [opened("10000.00"), ...filled("o-0", AAPL, "BUY", "10", "100")]
    const events = accepted(given(history).when(placeOrder({ side: "SELL", quantity: "4", limitPrice: "104" })))
    expect(events).toEqual([
      new OrderPlaced({
        accountId, orderId: OrderId.make("o-1"), symbol: AAPL, side: "SELL", orderType: "LIMIT", quantity: decimal("4"),
        limitPrice: Option.some(decimal("104")), reserved: zero, placedAt: at
      })
    ])
    const state = stateOf([...history, ...events])
    expect(availableCash(state)).toEqual(decimal("9000"))
    expect(availablePosition(state, AAPL)).toEqual(decimal("6"))
    expect(Portfolio.position(state.portfolio, AAPL).quantity).toEqual(decimal("10"))
  })

  it("counts cash reserved by a resting BUY against the next BUY: INSUFFICIENT_FUNDS", () => {
    // 1000 cash; 9 @ 95 rests (855 reserved); a MARKET BUY of 2 @ 100 needs 200 > 145
    const history = [opened("1000.00"), resting("o-9", AAPL, "BUY", "9", "95")]
    expect(given(history).when(placeOrder({ side: "BUY", quantity: "2" }))).toEqual(
      Either.left(new InsufficientFunds({ requested: decimal("200"), available: decimal("145") }))
    )
  })
})

describe("PlaceOrder: invalid orders", () => {
  it("refuses an order on an unopened account: ACCOUNT_NOT_OPEN", () => {
    expect(given([]).when(placeOrder({ side: "BUY", quantity: "1" }))).toEqual(Either.left(new AccountNotOpen()))
  })

  it.each([["0", "NOT_POSITIVE"], ["-1", "NOT_POSITIVE"], ["1.001", "TOO_MANY_DECIMALS"]] as const)(
    "refuses quantity %s: INVALID_AMOUNT %s",
    (quantity, problem) => {
      const rejection = rejected(given([opened()]).when(placeOrder({ side: "BUY", quantity })))
      expect(rejection).toEqual(new InvalidAmount({ field: "quantity", value: decimal(quantity), problem }))
      expect(rejection.code).toBe("INVALID_AMOUNT")
    }
  )

  it.each([["0", "NOT_POSITIVE"], ["99.00001", "TOO_MANY_DECIMALS"]] as const)(
    "refuses limit price %s: INVALID_AMOUNT %s",
    (limitPrice, problem) => {
      expect(given([opened()]).when(placeOrder({ side: "BUY", quantity: "1", limitPrice }))).toEqual(
        Either.left(new InvalidAmount({ field: "limitPrice", value: decimal(limitPrice), problem }))
      )
    }
  )

  it("refuses a LIMIT order without a limit price: LIMIT_PRICE_REQUIRED", () => {
    const rejection = rejected(given([opened()]).when(placeOrder({ side: "BUY", quantity: "1", orderType: "LIMIT" })))
    expect(rejection).toEqual(new InvalidOrder({ field: "limitPrice", problem: "LIMIT_PRICE_REQUIRED" }))
    expect(rejection.code).toBe("LIMIT_PRICE_REQUIRED")
  })

  it("refuses a MARKET order with a limit price: LIMIT_PRICE_NOT_ALLOWED", () => {
    const rejection = rejected(
      given([opened()]).when(placeOrder({ side: "BUY", quantity: "1", orderType: "MARKET", limitPrice: "100" }))
    )
    expect(rejection).toEqual(new InvalidOrder({ field: "limitPrice", problem: "LIMIT_PRICE_NOT_ALLOWED" }))
    expect(rejection.code).toBe("LIMIT_PRICE_NOT_ALLOWED")
  })
})

describe("PlaceOrder: market conditions", () => {
  it.each(["CLOSED", "UNLISTED"] as const)("refuses an order when the market is %s: MARKET_CLOSED", (status) => {
    const rejection = rejected(given([opened()]).when(placeOrder({ side: "BUY", quantity: "1", market: market("100", status) })))
    expect(rejection).toEqual(new MarketClosed({ symbol: AAPL }))
    expect(rejection.code).toBe("MARKET_CLOSED")
  })

  it("refuses an order when trading is halted: MARKET_HALTED", () => {
    const rejection = rejected(given([opened()]).when(placeOrder({ side: "BUY", quantity: "1", market: market("100", "HALTED") })))
    expect(rejection).toEqual(new MarketHalted({ symbol: AAPL }))
    expect(rejection.code).toBe("MARKET_HALTED")
  })

  it("refuses a LIMIT order too when trading is halted", () => {
    expect(given([opened()]).when(placeOrder({ side: "BUY", quantity: "1", limitPrice: "99", market: market("100", "HALTED") })))
      .toEqual(Either.left(new MarketHalted({ symbol: AAPL })))
  })

  it.each(["MARKET", "LIMIT"] as const)("refuses a %s order when the market has no price yet: NO_REFERENCE_PRICE", (orderType) => {
    const limitPrice = orderType === "LIMIT" ? "100" : undefined
    const rejection = rejected(given([opened()]).when(placeOrder({
      side: "BUY", quantity: "1", orderType, ...(limitPrice === undefined ? {} : { limitPrice }), market: market(null)
    })))
    expect(rejection).toEqual(new NoReferencePrice({ symbol: AAPL }))
    expect(rejection.code).toBe("NO_REFERENCE_PRICE")
  })

  it("refuses a LIMIT price beyond the order band from the last price: PRICE_OUTSIDE_BAND (fat finger)", () => {
    // band 10% of 100: 89.99 is 10.01% away
    const rejection = rejected(given([opened()]).when(placeOrder({ side: "BUY", quantity: "1", limitPrice: "89.99" })))
    expect(rejection).toEqual(new PriceOutsideBand({
      symbol: AAPL, limitPrice: decimal("89.99"), lastPrice: decimal("100"), band: decimal("0.10")
    }))
    expect(rejection.code).toBe("PRICE_OUTSIDE_BAND")
  })

  it("refuses a marketable LIMIT price beyond the band above the last price too (1000 instead of 100)", () => {
    expect(given([opened("1000000")]).when(placeOrder({ side: "BUY", quantity: "1", limitPrice: "1000" }))).toEqual(
      Either.left(new PriceOutsideBand({ symbol: AAPL, limitPrice: decimal("1000"), lastPrice: decimal("100"), band: decimal("0.1") }))
    )
  })

  it("accepts a LIMIT price exactly at the band edge", () => {
    expect(Either.isRight(given([opened()]).when(placeOrder({ side: "BUY", quantity: "1", limitPrice: "90" })))).toBe(true)
    expect(Either.isRight(given([opened()]).when(placeOrder({ side: "BUY", quantity: "1", limitPrice: "110" })))).toBe(true)
  })

})

describe("PlaceOrder: funds and positions", () => {
  it("refuses a BUY above the available cash: INSUFFICIENT_FUNDS with the notional and the cash", () => {
    const rejection = rejected(given([opened("999.99")]).when(placeOrder({ side: "BUY", quantity: "10" })))
    expect(rejection).toEqual(new InsufficientFunds({ requested: decimal("1000"), available: decimal("999.99") }))
    expect(rejection.code).toBe("INSUFFICIENT_FUNDS")
  })

  it("accepts a BUY for exactly the available cash", () => {
    expect(Either.isRight(given([opened("1000.00")]).when(placeOrder({ side: "BUY", quantity: "10" })))).toBe(true)
  })

  it("checks a resting LIMIT BUY's funds at its limit price", () => {
    expect(given([opened("949.99")]).when(placeOrder({ side: "BUY", quantity: "10", limitPrice: "95" }))).toEqual(
      Either.left(new InsufficientFunds({ requested: decimal("950"), available: decimal("949.99") }))
    )
  })

  it("refuses a SELL beyond the position: INSUFFICIENT_POSITION with requested and available", () => {
    const history = [opened(), ...filled("o-0", AAPL, "BUY", "5", "100")]
    const rejection = rejected(given(history).when(placeOrder({ side: "SELL", quantity: "5.01" })))
    expect(rejection).toEqual(new InsufficientPosition({ symbol: AAPL, requested: decimal("5.01"), available: decimal("5") }))
    expect(rejection.code).toBe("INSUFFICIENT_POSITION")
  })

  it("refuses a SELL with no position at all", () => {
    expect(given([opened()]).when(placeOrder({ side: "SELL", quantity: "1" }))).toEqual(
      Either.left(new InsufficientPosition({ symbol: AAPL, requested: decimal("1"), available: zero }))
    )
  })

  it("counts what a resting SELL already promised: the available position shrinks", () => {
    const history = [opened(), ...filled("o-0", AAPL, "BUY", "10", "100"), resting("o-8", AAPL, "SELL", "7", "105")]
    expect(given(history).when(placeOrder({ side: "SELL", quantity: "4" }))).toEqual(
      Either.left(new InsufficientPosition({ symbol: AAPL, requested: decimal("4"), available: decimal("3") }))
    )
    expect(Either.isRight(given(history).when(placeOrder({ side: "SELL", quantity: "3" })))).toBe(true)
  })

  it("does not count a resting SELL of another symbol", () => {
    const history = [opened(), ...filled("o-0", AAPL, "BUY", "10", "100"), ...filled("o-7", MSFT, "BUY", "5", "100"),
      resting("o-8", MSFT, "SELL", "5", "105")]
    expect(availablePosition(stateOf(history), AAPL)).toEqual(decimal("10"))
    expect(availablePosition(stateOf(history), MSFT)).toEqual(zero)
  })

  it("allows a SELL beyond the position when allowShort is set, opening a short", () => {
    const history = [opened("1000"), limitsSet({ allowShort: true })]
    const events = accepted(given(history).when(placeOrder({ side: "SELL", quantity: "3" })))
    expect(events.map((e) => e._tag)).toEqual(["OrderPlaced", "TradeExecuted"])
    const state = stateOf([...history, ...events])
    expect(Portfolio.position(state.portfolio, AAPL)).toEqual(
      new Portfolio.Position({ quantity: decimal("-3"), costBasis: decimal("-300"), realizedPnl: zero })
    )
    expect(state.portfolio.cash).toEqual(decimal("1300"))
  })
})

describe("PlaceOrder: risk limits", () => {
  it("refuses an order whose notional exceeds the maximum: MAX_ORDER_NOTIONAL_EXCEEDED", () => {
    const history = [opened(), limitsSet({ maxOrderNotional: "999.99" })]
    const rejection = rejected(given(history).when(placeOrder({ side: "BUY", quantity: "10" })))
    expect(rejection).toEqual(new OrderNotionalLimitExceeded({ notional: decimal("1000"), limit: decimal("999.99") }))
    expect(rejection.code).toBe("MAX_ORDER_NOTIONAL_EXCEEDED")
  })

  it("accepts an order whose notional equals the maximum", () => {
    const history = [opened(), limitsSet({ maxOrderNotional: "1000" })]
    expect(Either.isRight(given(history).when(placeOrder({ side: "BUY", quantity: "10" })))).toBe(true)
  })

  it("measures a resting LIMIT order's notional at its limit price", () => {
    const history = [opened(), limitsSet({ maxOrderNotional: "900" })]
    expect(given(history).when(placeOrder({ side: "BUY", quantity: "10", limitPrice: "95" }))).toEqual(
      Either.left(new OrderNotionalLimitExceeded({ notional: decimal("950"), limit: decimal("900") }))
    )
  })

  it("applies the notional limit to SELL orders too", () => {
    const history = [opened(), ...filled("o-0", AAPL, "BUY", "10", "100"), limitsSet({ maxOrderNotional: "500" })]
    expect(given(history).when(placeOrder({ side: "SELL", quantity: "6" }))).toEqual(
      Either.left(new OrderNotionalLimitExceeded({ notional: decimal("600"), limit: decimal("500") }))
    )
  })

  it("refuses a BUY that takes the position past the maximum per symbol: MAX_POSITION_EXCEEDED", () => {
    const history = [opened(), ...filled("o-0", AAPL, "BUY", "8", "100"), limitsSet({ maxPositionPerSymbol: "10" })]
    const rejection = rejected(given(history).when(placeOrder({ side: "BUY", quantity: "3" })))
    expect(rejection).toEqual(new PositionLimitExceeded({ symbol: AAPL, resulting: decimal("11"), limit: decimal("10") }))
    expect(rejection.code).toBe("MAX_POSITION_EXCEEDED")
    expect(Either.isRight(given(history).when(placeOrder({ side: "BUY", quantity: "2" })))).toBe(true)
  })

  it("measures the position limit on the absolute size, so a short counts too", () => {
    const history = [opened(), limitsSet({ maxPositionPerSymbol: "10", allowShort: true })]
    expect(given(history).when(placeOrder({ side: "SELL", quantity: "10.5" }))).toEqual(
      Either.left(new PositionLimitExceeded({ symbol: AAPL, resulting: decimal("-10.5"), limit: decimal("10") }))
    )
  })

  it("refuses an order that takes gross exposure past the maximum: MAX_GROSS_EXPOSURE_EXCEEDED", () => {
    // MSFT held at a cost of 600; buying 5 AAPL @ 100 makes 600 + 500 = 1100 > 1000
    const history = [opened(), ...filled("o-0", MSFT, "BUY", "3", "200"), limitsSet({ maxGrossExposure: "1000" })]
    const rejection = rejected(given(history).when(placeOrder({ side: "BUY", quantity: "5" })))
    expect(rejection).toEqual(new GrossExposureLimitExceeded({ resulting: decimal("1100"), limit: decimal("1000") }))
    expect(rejection.code).toBe("MAX_GROSS_EXPOSURE_EXCEEDED")
    expect(Either.isRight(given(history).when(placeOrder({ side: "BUY", quantity: "4" })))).toBe(true)
  })

  it("counts the ordered symbol once: its resulting position at the order price replaces its cost", () => {
    // AAPL 5 held at a cost of 500, MSFT 1 at 200: buying 3 more AAPL @ 100 makes 200 + 8 × 100 = 1000
    const history = [
      opened(), ...filled("o-0", AAPL, "BUY", "5", "100"), ...filled("o-7", MSFT, "BUY", "1", "200"),
      limitsSet({ maxGrossExposure: "1000" })
    ]
    expect(Either.isRight(given(history).when(placeOrder({ side: "BUY", quantity: "3" })))).toBe(true)
    expect(given(history).when(placeOrder({ side: "BUY", quantity: "3.01" }))).toEqual(
      Either.left(new GrossExposureLimitExceeded({ resulting: decimal("1001"), limit: decimal("1000") }))
    )
  })

  it("counts a short's exposure as its absolute cost", () => {
    const history = [
      opened(), limitsSet({ allowShort: true }), ...filled("o-0", MSFT, "SELL", "3", "200"),
      limitsSet({ allowShort: true, maxGrossExposure: "1000" })
    ]
    expect(given(history).when(placeOrder({ side: "BUY", quantity: "4.01" }))).toEqual(
      Either.left(new GrossExposureLimitExceeded({ resulting: decimal("1001"), limit: decimal("1000") }))
    )
  })
})

// ---- fill ----

describe("FillOrder", () => {
  const restingBuy = [opened("1000.00"), resting("o-9", AAPL, "BUY", "5", "95")]

  it("fills a resting BUY at a price at or below its limit", () => {
    expect(given(restingBuy).when(fillOrder("o-9", "94.50"))).toEqual(Either.right([
      new TradeExecuted({
        tradeId: TradeId.make("t-fill"), accountId, orderId: OrderId.make("o-9"), symbol: AAPL, quantity: decimal("5"),
        price: decimal("94.50"), tradeType: "BUY", executedAt: at
      })
    ]))
    expect(Either.isRight(given(restingBuy).when(fillOrder("o-9", "95")))).toBe(true)
  })

  it("releases the reservation: cash drops by the fill, not by the reserve", () => {
    const events = accepted(given(restingBuy).when(fillOrder("o-9", "94.50")))
    const state = stateOf([...restingBuy, ...events])
    expect(HashMap.has(state.openOrders, OrderId.make("o-9"))).toBe(false)
    expect(state.portfolio.cash).toEqual(decimal("527.50"))
    expect(availableCash(state)).toEqual(decimal("527.50"))
    expect(Portfolio.position(state.portfolio, AAPL).quantity).toEqual(decimal("5"))
  })

  it("fills a resting SELL at a price at or above its limit", () => {
    const history = [opened(), ...filled("o-0", AAPL, "BUY", "10", "100"), resting("o-8", AAPL, "SELL", "4", "104")]
    const events = accepted(given(history).when(fillOrder("o-8", "104.25")))
    expect(events).toEqual([new TradeExecuted({
      tradeId: TradeId.make("t-fill"), accountId, orderId: OrderId.make("o-8"), symbol: AAPL, quantity: decimal("4"),
      price: decimal("104.25"), tradeType: "SELL", executedAt: at
    })])
    const state = stateOf([...history, ...events])
    expect(availablePosition(state, AAPL)).toEqual(decimal("6"))
    expect(state.portfolio.realizedPnl).toEqual(decimal("17"))
  })

  it("fills a resting SELL at exactly its limit", () => {
    const history = [opened(), ...filled("o-0", AAPL, "BUY", "10", "100"), resting("o-8", AAPL, "SELL", "4", "104")]
    expect(given(history).when(fillOrder("o-8", "104"))).toEqual(Either.right([new TradeExecuted({
      tradeId: TradeId.make("t-fill"), accountId, orderId: OrderId.make("o-8"), symbol: AAPL, quantity: decimal("4"),
      price: decimal("104"), tradeType: "SELL", executedAt: at
    })]))
  })

  it("refuses an unknown order: ORDER_NOT_FOUND", () => {
    const rejection = rejected(given(restingBuy).when(fillOrder("o-404", "90")))
    expect(rejection).toEqual(new OrderNotFound({ orderId: OrderId.make("o-404") }))
    expect(rejection.code).toBe("ORDER_NOT_FOUND")
  })

  it("refuses an order already filled: ORDER_NOT_FOUND", () => {
    const history = [...restingBuy, ...accepted(given(restingBuy).when(fillOrder("o-9", "94")))]
    expect(given(history).when(fillOrder("o-9", "94"))).toEqual(Either.left(new OrderNotFound({ orderId: OrderId.make("o-9") })))
  })

  it("refuses a BUY at a price above its limit: ORDER_NOT_CROSSED", () => {
    const rejection = rejected(given(restingBuy).when(fillOrder("o-9", "95.01")))
    expect(rejection).toEqual(new OrderNotCrossed({ orderId: OrderId.make("o-9"), price: decimal("95.01"), limitPrice: decimal("95") }))
    expect(rejection.code).toBe("ORDER_NOT_CROSSED")
  })

  it("refuses a SELL at a price below its limit: ORDER_NOT_CROSSED", () => {
    const history = [opened(), ...filled("o-0", AAPL, "BUY", "10", "100"), resting("o-8", AAPL, "SELL", "4", "104")]
    expect(given(history).when(fillOrder("o-8", "103.99"))).toEqual(
      Either.left(new OrderNotCrossed({ orderId: OrderId.make("o-8"), price: decimal("103.99"), limitPrice: decimal("104") }))
    )
  })

  it("refuses to fill while trading is halted: MARKET_HALTED", () => {
    expect(given(restingBuy).when(fillOrder("o-9", "94", market("94", "HALTED")))).toEqual(
      Either.left(new MarketHalted({ symbol: AAPL }))
    )
  })

  it("refuses to fill when the market is closed: MARKET_CLOSED", () => {
    expect(given(restingBuy).when(fillOrder("o-9", "94", market("94", "CLOSED")))).toEqual(
      Either.left(new MarketClosed({ symbol: AAPL }))
    )
  })

  it("refuses to fill on an unopened account: ACCOUNT_NOT_OPEN", () => {
    expect(given([]).when(fillOrder("o-9", "94"))).toEqual(Either.left(new AccountNotOpen()))
  })
})

// ---- cancel ----

describe("CancelOrder", () => {
  const restingBuy = [opened("1000.00"), resting("o-9", AAPL, "BUY", "5", "95")]

  it("cancels a resting order", () => {
    expect(given(restingBuy).when(cancelOrder("o-9"))).toEqual(
      Either.right([new OrderCancelled({ accountId, orderId: OrderId.make("o-9"), cancelledAt: at })])
    )
  })

  it("releases the reservation of a cancelled BUY", () => {
    expect(availableCash(stateOf(restingBuy))).toEqual(decimal("525"))
    const state = stateOf([...restingBuy, ...accepted(given(restingBuy).when(cancelOrder("o-9")))])
    expect(availableCash(state)).toEqual(decimal("1000"))
    expect(state.portfolio.cash).toEqual(decimal("1000"))
    expect(HashMap.size(state.openOrders)).toBe(0)
  })

  it("gives back the position a cancelled SELL had promised", () => {
    const history = [opened(), ...filled("o-0", AAPL, "BUY", "10", "100"), resting("o-8", AAPL, "SELL", "4", "104")]
    const state = stateOf([...history, ...accepted(given(history).when(cancelOrder("o-8")))])
    expect(availablePosition(state, AAPL)).toEqual(decimal("10"))
  })

  it("refuses an unknown order: ORDER_NOT_FOUND", () => {
    const rejection = rejected(given(restingBuy).when(cancelOrder("o-404")))
    expect(rejection).toEqual(new OrderNotFound({ orderId: OrderId.make("o-404") }))
    expect(rejection.code).toBe("ORDER_NOT_FOUND")
  })

  it("refuses an order already filled: ORDER_NOT_FOUND", () => {
    const history = [...restingBuy, ...accepted(given(restingBuy).when(fillOrder("o-9", "95")))]
    expect(given(history).when(cancelOrder("o-9"))).toEqual(Either.left(new OrderNotFound({ orderId: OrderId.make("o-9") })))
  })

  it("refuses a MARKET order, which filled when placed: ORDER_NOT_FOUND", () => {
    const history = [opened(), ...filled("o-0", AAPL, "BUY", "1", "100")]
    expect(given(history).when(cancelOrder("o-0"))).toEqual(Either.left(new OrderNotFound({ orderId: OrderId.make("o-0") })))
  })

  it("refuses an order already cancelled: ORDER_NOT_FOUND", () => {
    const history = [...restingBuy, new OrderCancelled({ accountId, orderId: OrderId.make("o-9"), cancelledAt: earlier })]
    expect(given(history).when(cancelOrder("o-9"))).toEqual(Either.left(new OrderNotFound({ orderId: OrderId.make("o-9") })))
  })

  it("refuses to cancel on an unopened account: ACCOUNT_NOT_OPEN", () => {
    expect(given([]).when(cancelOrder("o-9"))).toEqual(Either.left(new AccountNotOpen()))
  })
})

// ---- recorded rejections ----

describe("recordRejection and recordedRejection", () => {
  const recordRejection = TradingAccount.recordRejection!
  const recordedRejection = TradingAccount.recordedRejection!

  const refusedOrder = placeOrder({ side: "BUY", quantity: "10", limitPrice: "99.50" })
  const refusal = new InsufficientFunds({ requested: decimal("995"), available: decimal("100") })

  it("records a refused order on an open account as OrderRejected with the rejection as its reason", () => {
    const state = fold(TradingAccount)([opened("100.00")])
    const rejection = rejected(TradingAccount.decide(refusedOrder, state))
    expect(rejection).toEqual(refusal)
    expect(recordRejection(refusedOrder, state, rejection)).toEqual([
      new OrderRejected({
        accountId, orderId: OrderId.make("o-1"), symbol: AAPL, side: "BUY", orderType: "LIMIT", quantity: decimal("10"),
        limitPrice: Option.some(decimal("99.50")), reason: refusal, rejectedAt: at
      })
    ])
  })

  it("records refusals of every kind of order check", () => {
    const state = fold(TradingAccount)([opened("100.00")])
    const refusals: ReadonlyArray<OrderRefusal> = [
      new InvalidOrder({ field: "limitPrice", problem: "LIMIT_PRICE_REQUIRED" }),
      new MarketHalted({ symbol: AAPL }),
      new PriceOutsideBand({ symbol: AAPL, limitPrice: decimal("1"), lastPrice: decimal("100"), band: decimal("0.1") })
    ]
    for (const r of refusals) {
      const recorded = recordRejection(refusedOrder, state, r)
      expect(recorded).toHaveLength(1)
      expect(recordedRejection(recorded)).toEqual(r)
    }
  })

  it("does not change the account: an OrderRejected is only an audit fact", () => {
    const history = [opened("100.00")]
    const recorded = recordRejection(refusedOrder, fold(TradingAccount)(history), refusal)
    expect(stateOf([...history, ...recorded])).toEqual(stateOf(history))
  })

  it("records nothing for an unopened account", () => {
    const state = fold(TradingAccount)([])
    const rejection = rejected(TradingAccount.decide(refusedOrder, state))
    expect(rejection).toEqual(new AccountNotOpen())
    expect(recordRejection(refusedOrder, state, rejection)).toEqual([])
  })

  it("records nothing for refusals of other commands", () => {
    const state = fold(TradingAccount)([opened("100.00"), resting("o-9", AAPL, "BUY", "1", "95")])
    const cases = [
      withdraw("1000.00"), openAccount("1.00"), cancelOrder("o-404"), fillOrder("o-404", "95"), fillOrder("o-9", "96")
    ] as const
    for (const command of cases) {
      expect(recordRejection(command, state, rejected(TradingAccount.decide(command, state)))).toEqual([])
    }
  })

  it("gives the recorded rejection back, with its reason code", () => {
    const state = fold(TradingAccount)([opened("100.00")])
    const recorded = recordRejection(refusedOrder, state, refusal)
    const answered = recordedRejection(recorded)
    expect(answered).toEqual(refusal)
    expect(answered?.code).toBe("INSUFFICIENT_FUNDS")
  })

  it("gives the rejection back after the event went through its stored (encoded) form", () => {
    const state = fold(TradingAccount)([opened("100.00")])
    const recorded = recordRejection(refusedOrder, state, refusal)
    const stored = Schema.encodeSync(Schema.Array(AccountEvent))(recorded)
    const answered = recordedRejection(Schema.decodeUnknownSync(Schema.Array(AccountEvent))(JSON.parse(JSON.stringify(stored))))
    expect(answered).toEqual(refusal)
    expect(answered?.code).toBe("INSUFFICIENT_FUNDS")
  })

  it("gives nothing back when no order was rejected", () => {
    expect(recordedRejection([opened(), ...filled("o-0", AAPL, "BUY", "1", "100")])).toBeUndefined()
  })
})

// ---- resting orders count toward position and exposure limits ----

describe("risk limits with resting orders", () => {
  it("resting LIMIT BUYs together cannot escape maxPositionPerSymbol (the second of two 8s under 10 is refused)", () => {
    let history: ReadonlyArray<AccountEvent> = [opened("100000.00"), limitsSet({ maxPositionPerSymbol: "10" })]
    const steps = [
      placeOrder({ orderId: "o-1", side: "BUY", quantity: "8", limitPrice: "95" }),
      placeOrder({ orderId: "o-2", side: "BUY", quantity: "8", limitPrice: "95" }),
      fillOrder("o-1", "95"),
      fillOrder("o-2", "95")
    ]
    const outcomes = steps.map((command) => {
      const decision = given(history).when(command)
      if (Either.isRight(decision)) history = [...history, ...decision.right]
      return Either.isRight(decision) ? "ok" : decision.left.code
    })
    expect(outcomes).toEqual(["ok", "MAX_POSITION_EXCEEDED", "ok", "ORDER_NOT_FOUND"])
    expect(Portfolio.position(stateOf(history).portfolio, AAPL).quantity).toEqual(decimal("8"))
  })

  it("an account over its position limit can still reduce the position in part", () => {
    const history = [opened("100000.00"), ...accepted(given([opened("100000.00")]).when(placeOrder({ side: "BUY", quantity: "20" })))]
    const limited = [...history, limitsSet({ maxPositionPerSymbol: "10" })]
    expect(Either.isRight(given(limited).when(placeOrder({ orderId: "o-2", side: "SELL", quantity: "5" })))).toBe(true)
  })

  it("an account over its gross exposure can still sell part of a position whose price rose", () => {
    const history = [opened("100000.00"), ...accepted(given([opened("100000.00")]).when(placeOrder({ side: "BUY", quantity: "10" })))]
    const limited = [...history, limitsSet({ maxGrossExposure: "1500" })]
    const sell = placeOrder({ orderId: "o-2", side: "SELL", quantity: "1", market: market("200.00") })
    expect(Either.isRight(given(limited).when(sell))).toBe(true)
  })

  it("a fill price must be a valid price: INVALID_AMOUNT on price", () => {
    const history = [opened("10000.00"), ...accepted(given([opened("10000.00")]).when(placeOrder({ side: "BUY", quantity: "1", limitPrice: "95" })))]
    const rejection = rejected(given(history).when(fillOrder("o-1", "0")))
    expect(rejection.code).toBe("INVALID_AMOUNT")
    expect(rejection).toMatchObject({ field: "price" })
  })
})
