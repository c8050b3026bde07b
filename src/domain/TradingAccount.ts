import { BigDecimal, Data, type DateTime, Either, HashMap, Option, Schema } from "effect"
import {
  AccountOpened, type AccountEvent, AccountType, FundsDeposited, FundsWithdrawn, OrderCancelled, OrderPlaced, OrderRejected,
  type OrderType, RiskLimits, RiskLimitsSet, Side, TradeExecuted
} from "./AccountEvents.js"
import {
  AccountAlreadyOpen, AccountNotOpen, type AccountRejection, GrossExposureLimitExceeded, InsufficientFunds, InsufficientPosition,
  InvalidAmount, InvalidOrder, MarketClosed, MarketHalted, NoReferencePrice, OrderNotCrossed, OrderNotFound,
  OrderNotionalLimitExceeded, type OrderRefusal, PositionLimitExceeded, PriceOutsideBand
} from "./AccountRejections.js"
import type { Decider } from "./Decider.js"
import { CASH_SCALE, Decimal, fitsScale, PRICE_SCALE, QUANTITY_SCALE, zero } from "./Decimal.js"
import { AccountId, Currency, CustomerId, OrderId, Symbol, type TradeId } from "./Ids.js"
import { type MarketView, withinBand } from "./Market.js"
import * as Portfolio from "./Portfolio.js"

// ---- commands (in-process; "now" and generated ids come in the command) ----

export type AccountCommand = Data.TaggedEnum<{
  OpenAccount: {
    readonly accountId: AccountId
    readonly customerId: CustomerId
    readonly accountType: AccountType
    readonly currency: Currency
    readonly initialBalance: BigDecimal.BigDecimal
    readonly at: DateTime.Utc
  }
  DepositFunds: { readonly amount: BigDecimal.BigDecimal; readonly at: DateTime.Utc }
  WithdrawFunds: { readonly amount: BigDecimal.BigDecimal; readonly at: DateTime.Utc }
  SetRiskLimits: { readonly limits: RiskLimits; readonly at: DateTime.Utc }
  PlaceOrder: {
    readonly orderId: OrderId
    readonly tradeId: TradeId
    readonly symbol: Symbol
    readonly side: Side
    readonly orderType: OrderType
    readonly quantity: BigDecimal.BigDecimal
    readonly limitPrice: Option.Option<BigDecimal.BigDecimal>
    readonly market: MarketView
    readonly at: DateTime.Utc
  }
  /** Fill a resting LIMIT order at a price that crosses it (sent by the order-filling process). */
  FillOrder: {
    readonly orderId: OrderId
    readonly tradeId: TradeId
    readonly price: BigDecimal.BigDecimal
    readonly market: MarketView
    readonly at: DateTime.Utc
  }
  CancelOrder: { readonly orderId: OrderId; readonly at: DateTime.Utc }
}>
export const AccountCommand = Data.taggedEnum<AccountCommand>()

// ---- state ----

export class RestingOrder extends Schema.Class<RestingOrder>("RestingOrder")({
  orderId: OrderId,
  symbol: Symbol,
  side: Side,
  quantity: Decimal,
  limitPrice: Decimal,
  reserved: Decimal
}) {}

export class Unopened extends Schema.TaggedClass<Unopened>()("Unopened", {}) {}

export class Opened extends Schema.TaggedClass<Opened>()("Opened", {
  accountId: AccountId,
  customerId: CustomerId,
  accountType: AccountType,
  currency: Currency,
  limits: RiskLimits,
  portfolio: Portfolio.Portfolio,
  openOrders: Schema.HashMap({ key: OrderId, value: RestingOrder })
}) {}

export const AccountState = Schema.Union(Unopened, Opened)
export type AccountState = typeof AccountState.Type

export const noLimits = new RiskLimits({
  maxOrderNotional: Option.none(), maxPositionPerSymbol: Option.none(), maxGrossExposure: Option.none(), allowShort: false
})

/** Cash minus what resting BUY orders reserve. */
export const availableCash = (s: Opened): BigDecimal.BigDecimal =>
  HashMap.reduce(s.openOrders, s.portfolio.cash, (cash, o) => BigDecimal.subtract(cash, o.reserved))

/** The position minus what resting SELL orders have already promised. */
export const availablePosition = (s: Opened, symbol: Symbol): BigDecimal.BigDecimal =>
  HashMap.reduce(s.openOrders, Portfolio.position(s.portfolio, symbol).quantity, (q, o) =>
    o.symbol === symbol && o.side === "SELL" ? BigDecimal.subtract(q, o.quantity) : q)

const signedQty = (side: Side, q: BigDecimal.BigDecimal) => side === "BUY" ? q : BigDecimal.negate(q)

/** Signed quantity of the resting orders in a symbol (BUY positive). */
const pendingQuantity = (s: Opened, symbol: Symbol): BigDecimal.BigDecimal =>
  HashMap.reduce(s.openOrders, zero, (q, o) => o.symbol === symbol ? BigDecimal.sum(q, signedQty(o.side, o.quantity)) : q)

/** Gross exposure outside `symbol`: positions at cost plus resting orders at their limit price. */
const grossExposureElsewhere = (s: Opened, symbol: Symbol): BigDecimal.BigDecimal =>
  HashMap.reduce(s.openOrders, Portfolio.grossExposureAtCost(s.portfolio, symbol), (total, o) =>
    o.symbol === symbol ? total : BigDecimal.sum(total, BigDecimal.multiply(o.quantity, o.limitPrice)))

// ---- decide ----

type Decision = Either.Either<ReadonlyArray<AccountEvent>, AccountRejection>

const opened = (state: AccountState): Either.Either<Opened, AccountNotOpen> =>
  state._tag === "Opened" ? Either.right(state) : Either.left(new AccountNotOpen())

const check = (ok: boolean, rejection: () => OrderRefusal): Either.Either<void, OrderRefusal> =>
  ok ? Either.void : Either.left(rejection())

/** Positive (or, with `allowZero`, non-negative) and within `scale` decimals. */
const amount = (field: string, value: BigDecimal.BigDecimal, scale: number, allowZero = false) =>
  Either.gen(function*() {
    const ok = allowZero ? !BigDecimal.isNegative(value) : BigDecimal.isPositive(value)
    yield* check(ok, () => new InvalidAmount({ field, value, problem: allowZero ? "NEGATIVE" : "NOT_POSITIVE" }))
    yield* check(fitsScale(value, scale), () => new InvalidAmount({ field, value, problem: "TOO_MANY_DECIMALS" }))
  })

const marketOpen = (market: MarketView) =>
  market.status === "OPEN" ? Either.void
    : Either.left(market.status === "HALTED" ? new MarketHalted({ symbol: market.symbol }) : new MarketClosed({ symbol: market.symbol }))

/** Every check an order must pass before it is accepted: the risk gate. */
const acceptOrder = (s: Opened, c: Extract<AccountCommand, { _tag: "PlaceOrder" }>) =>
  Either.gen(function*() {
    yield* amount("quantity", c.quantity, QUANTITY_SCALE)
    if (c.orderType === "LIMIT") {
      if (Option.isNone(c.limitPrice)) return yield* Either.left(new InvalidOrder({ field: "limitPrice", problem: "LIMIT_PRICE_REQUIRED" }))
      yield* amount("limitPrice", c.limitPrice.value, PRICE_SCALE)
    } else if (Option.isSome(c.limitPrice)) {
      return yield* Either.left(new InvalidOrder({ field: "limitPrice", problem: "LIMIT_PRICE_NOT_ALLOWED" }))
    }
    yield* marketOpen(c.market)
    if (Option.isNone(c.market.lastPrice)) return yield* Either.left(new NoReferencePrice({ symbol: c.symbol }))
    const last = c.market.lastPrice.value
    const limit = Option.getOrElse(c.limitPrice, () => last)
    if (c.orderType === "LIMIT") {
      yield* check(withinBand(limit, last, c.market.orderBand), () =>
        new PriceOutsideBand({ symbol: c.symbol, limitPrice: limit, lastPrice: last, band: c.market.orderBand }))
    }
    const marketable = c.side === "BUY" ? BigDecimal.greaterThanOrEqualTo(limit, last) : BigDecimal.lessThanOrEqualTo(limit, last)
    // A marketable order fills now at the last price; a resting one is checked at its limit price.
    const price = marketable ? last : limit
    const notional = BigDecimal.multiply(c.quantity, price)
    const limits = s.limits
    if (Option.isSome(limits.maxOrderNotional)) {
      const max = limits.maxOrderNotional.value
      yield* check(BigDecimal.lessThanOrEqualTo(notional, max), () => new OrderNotionalLimitExceeded({ notional, limit: max }))
    }
    if (c.side === "BUY") {
      const available = availableCash(s)
      yield* check(BigDecimal.lessThanOrEqualTo(notional, available), () => new InsufficientFunds({ requested: notional, available }))
    } else if (!limits.allowShort) {
      const available = availablePosition(s, c.symbol)
      yield* check(BigDecimal.lessThanOrEqualTo(c.quantity, available), () =>
        new InsufficientPosition({ symbol: c.symbol, requested: c.quantity, available }))
    }
    // Position and exposure count resting orders as if filled; a limit only refuses an order that
    // makes things worse, so an account over a limit can always reduce.
    const before = BigDecimal.sum(Portfolio.position(s.portfolio, c.symbol).quantity, pendingQuantity(s, c.symbol))
    const resulting = BigDecimal.sum(before, signedQty(c.side, c.quantity))
    const grows = BigDecimal.greaterThan(BigDecimal.abs(resulting), BigDecimal.abs(before))
    if (Option.isSome(limits.maxPositionPerSymbol) && grows) {
      const max = limits.maxPositionPerSymbol.value
      yield* check(BigDecimal.lessThanOrEqualTo(BigDecimal.abs(resulting), max), () =>
        new PositionLimitExceeded({ symbol: c.symbol, resulting, limit: max }))
    }
    if (Option.isSome(limits.maxGrossExposure) && grows) {
      const max = limits.maxGrossExposure.value
      const exposure = BigDecimal.sum(grossExposureElsewhere(s, c.symbol), BigDecimal.multiply(BigDecimal.abs(resulting), price))
      yield* check(BigDecimal.lessThanOrEqualTo(exposure, max), () => new GrossExposureLimitExceeded({ resulting: exposure, limit: max }))
    }
    return { marketable, price, notional }
  })

// decide checks every value it puts into an event (amount, scales, bands) before it builds it, so
// the events' constructors skip the Schema's own check (the `true`): it repeated that work on every order.

export const decide = (command: AccountCommand, state: AccountState): Decision => {
  switch (command._tag) {
    case "OpenAccount": {
      if (state._tag === "Opened") return Either.left(new AccountAlreadyOpen())
      return amount("initialBalance", command.initialBalance, CASH_SCALE, true).pipe(Either.map(() => [new AccountOpened({
        accountId: command.accountId, customerId: command.customerId, accountType: command.accountType,
        initialBalance: command.initialBalance, currency: command.currency, openedAt: command.at
      }, true)]))
    }
    case "DepositFunds":
      return Either.gen(function*() {
        const s = yield* opened(state)
        yield* amount("amount", command.amount, CASH_SCALE)
        return [new FundsDeposited({ accountId: s.accountId, amount: command.amount, depositedAt: command.at }, true)]
      })
    case "WithdrawFunds":
      return Either.gen(function*() {
        const s = yield* opened(state)
        yield* amount("amount", command.amount, CASH_SCALE)
        const available = availableCash(s)
        yield* check(BigDecimal.lessThanOrEqualTo(command.amount, available), () =>
          new InsufficientFunds({ requested: command.amount, available }))
        return [new FundsWithdrawn({ accountId: s.accountId, amount: command.amount, withdrawnAt: command.at }, true)]
      })
    case "SetRiskLimits":
      return Either.gen(function*() {
        const s = yield* opened(state)
        const l = command.limits
        // A zero limit is allowed: "no new exposure".
        for (const [field, value] of [["maxOrderNotional", l.maxOrderNotional], ["maxPositionPerSymbol", l.maxPositionPerSymbol],
          ["maxGrossExposure", l.maxGrossExposure]] as const) {
          if (Option.isSome(value)) yield* amount(field, value.value, field === "maxPositionPerSymbol" ? QUANTITY_SCALE : CASH_SCALE, true)
        }
        return [new RiskLimitsSet({ accountId: s.accountId, limits: l, setAt: command.at }, true)]
      })
    case "PlaceOrder":
      return Either.gen(function*() {
        const s = yield* opened(state)
        const { marketable, price, notional } = yield* acceptOrder(s, command)
        const placed = new OrderPlaced({
          accountId: s.accountId, orderId: command.orderId, symbol: command.symbol, side: command.side,
          orderType: command.orderType, quantity: command.quantity, limitPrice: command.limitPrice,
          reserved: !marketable && command.side === "BUY" ? notional : zero, placedAt: command.at
        }, true)
        if (!marketable) return [placed]
        return [placed, new TradeExecuted({
          tradeId: command.tradeId, accountId: s.accountId, orderId: command.orderId, symbol: command.symbol,
          quantity: command.quantity, price, tradeType: command.side, executedAt: command.at
        }, true)]
      })
    case "FillOrder":
      return Either.gen(function*() {
        const s = yield* opened(state)
        yield* amount("price", command.price, PRICE_SCALE)
        const order = yield* Option.match(HashMap.get(s.openOrders, command.orderId), {
          onNone: () => Either.left(new OrderNotFound({ orderId: command.orderId })),
          onSome: Either.right
        })
        yield* marketOpen(command.market)
        const crosses = order.side === "BUY"
          ? BigDecimal.lessThanOrEqualTo(command.price, order.limitPrice)
          : BigDecimal.greaterThanOrEqualTo(command.price, order.limitPrice)
        if (!crosses) return yield* Either.left(new OrderNotCrossed({ orderId: order.orderId, price: command.price, limitPrice: order.limitPrice }))
        return [new TradeExecuted({
          tradeId: command.tradeId, accountId: s.accountId, orderId: order.orderId, symbol: order.symbol,
          quantity: order.quantity, price: command.price, tradeType: order.side, executedAt: command.at
        }, true)]
      })
    case "CancelOrder":
      return Either.gen(function*() {
        const s = yield* opened(state)
        if (!HashMap.has(s.openOrders, command.orderId)) return yield* Either.left(new OrderNotFound({ orderId: command.orderId }))
        return [new OrderCancelled({ accountId: s.accountId, orderId: command.orderId, cancelledAt: command.at }, true)]
      })
  }
}

// ---- evolve ----
// evolve rebuilds state from facts that were validated when they were decided or decoded, so its
// constructors skip validation (the `true`): replaying a long log stays fast.

export const evolve = (state: AccountState, event: AccountEvent): AccountState => {
  if (event._tag === "AccountOpened") {
    return new Opened({
      accountId: event.accountId, customerId: event.customerId, accountType: event.accountType, currency: event.currency,
      limits: noLimits, portfolio: Portfolio.evolve(Portfolio.empty, event), openOrders: HashMap.empty()
    }, true)
  }
  if (state._tag !== "Opened") return state
  const portfolio = Portfolio.evolve(state.portfolio, event)
  switch (event._tag) {
    case "RiskLimitsSet":
      return new Opened({ ...state, limits: event.limits }, true)
    case "OrderPlaced":
      return Option.match(event.limitPrice, {
        onNone: () => state,
        onSome: (limitPrice) => new Opened({
          ...state,
          openOrders: HashMap.set(state.openOrders, event.orderId, new RestingOrder({
            orderId: event.orderId, symbol: event.symbol, side: event.side, quantity: event.quantity, limitPrice, reserved: event.reserved
          }, true))
        }, true)
      })
    case "TradeExecuted":
    case "OrderCancelled":
      // A fill or a cancel ends a resting order and releases what it reserved.
      return new Opened({ ...state, portfolio, openOrders: HashMap.remove(state.openOrders, event.orderId) }, true)
    case "FundsDeposited":
    case "FundsWithdrawn":
      return new Opened({ ...state, portfolio }, true)
    case "OrderRejected":
      return state
  }
}

export const TradingAccount: Decider<AccountCommand, AccountState, AccountEvent, AccountRejection> = {
  initialState: new Unopened(),
  decide,
  evolve,
  recordRejection: (command, state, rejection) =>
    command._tag === "PlaceOrder" && state._tag === "Opened" && rejection._tag !== "AccountAlreadyOpen" &&
      rejection._tag !== "OrderNotFound" && rejection._tag !== "OrderNotCrossed"
      ? [new OrderRejected({
        accountId: state.accountId, orderId: command.orderId, symbol: command.symbol, side: command.side,
        orderType: command.orderType, quantity: command.quantity, limitPrice: command.limitPrice,
        reason: rejection, rejectedAt: command.at
      }, true)]
      : [],
  recordedRejection: (events) => {
    const rejected = events.find((e): e is OrderRejected => e._tag === "OrderRejected")
    return rejected?.reason
  }
}
