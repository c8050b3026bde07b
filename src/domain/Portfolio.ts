import { BigDecimal, HashMap, Option, Schema } from "effect"
import type { AccountEvent, Side } from "./AccountEvents.js"
import { COST_SCALE, Decimal, divideRounded, zero } from "./Decimal.js"
import { Symbol } from "./Ids.js"

/**
 * A holding. `quantity` is signed (negative when short); `costBasis` is the signed cost of what is
 * held (quantity × average cost), kept exactly so cash and P&L never drift.
 */
export class Position extends Schema.Class<Position>("Position")({
  quantity: Decimal,
  costBasis: Decimal,
  realizedPnl: Decimal
}) {}

/** Cash, positions with average cost, realized P&L: the one portfolio fold. */
export class Portfolio extends Schema.Class<Portfolio>("Portfolio")({
  cash: Decimal,
  positions: Schema.HashMap({ key: Symbol, value: Position }),
  realizedPnl: Decimal
}) {}

/**
 * An instance from fields that are already valid, as `new Class(fields, true)` builds it (these
 * classes have no defaults to merge), without the constructor's copying and default lookup: the
 * fold builds one position and one portfolio per fill, in commands, projections and replays.
 */
const trusted = <A extends object>(Class: { readonly prototype: A }, fields: object): A =>
  Object.assign(Object.create(Class.prototype) as A, fields)
// fields in the classes' order: structural hashing follows the order of the keys
const positionOf = (fields: { readonly quantity: BigDecimal.BigDecimal; readonly costBasis: BigDecimal.BigDecimal; readonly realizedPnl: BigDecimal.BigDecimal }) =>
  trusted(Position, fields)
const portfolioOf = (fields: {
  readonly cash: BigDecimal.BigDecimal
  readonly positions: HashMap.HashMap<Symbol, Position>
  readonly realizedPnl: BigDecimal.BigDecimal
}) => trusted(Portfolio, fields)

export const empty = portfolioOf({ cash: zero, positions: HashMap.empty(), realizedPnl: zero })
const flat = positionOf({ quantity: zero, costBasis: zero, realizedPnl: zero })

export const position = (portfolio: Portfolio, symbol: Symbol): Position =>
  Option.getOrElse(HashMap.get(portfolio.positions, symbol), () => flat)

/** Average cost per unit at full precision (round only to show it); zero when flat. */
export const averageCost = (p: Position): BigDecimal.BigDecimal =>
  BigDecimal.isZero(p.quantity) ? zero : BigDecimal.unsafeDivide(p.costBasis, p.quantity)

const signed = (side: Side, quantity: BigDecimal.BigDecimal) => side === "BUY" ? quantity : BigDecimal.negate(quantity)

/**
 * A fill against a position. Adding to a position adds its cost; reducing one releases the
 * proportional cost basis (exact on a full close) and realizes the difference; a fill larger
 * than the position closes it and opens the rest on the other side at the fill price.
 */
export const applyFill = (
  p: Position,
  side: Side,
  quantity: BigDecimal.BigDecimal,
  price: BigDecimal.BigDecimal
): Position => {
  const delta = signed(side, quantity)
  const held = p.quantity
  if (BigDecimal.isZero(held) || BigDecimal.sign(held) === BigDecimal.sign(delta)) {
    return positionOf({
      quantity: BigDecimal.sum(held, delta),
      costBasis: BigDecimal.sum(p.costBasis, BigDecimal.multiply(delta, price)),
      realizedPnl: p.realizedPnl
    })
  }
  const heldAbs = BigDecimal.abs(held)
  const closed = BigDecimal.min(quantity, heldAbs)
  const fullClose = BigDecimal.equals(closed, heldAbs)
  const released = fullClose ? p.costBasis : divideRounded(BigDecimal.multiply(p.costBasis, closed), heldAbs, COST_SCALE)
  const value = BigDecimal.multiply(closed, price)
  // long: sold `closed` for `value` against `released`; short: bought back for `value` against -`released`
  const realized = BigDecimal.sign(held) > 0 ? BigDecimal.subtract(value, released) : BigDecimal.subtract(BigDecimal.negate(released), value)
  const rest = BigDecimal.subtract(quantity, closed)
  const remainingQty = BigDecimal.sum(held, signed(side, closed))
  const remainingCost = BigDecimal.subtract(p.costBasis, released)
  return positionOf({
    quantity: BigDecimal.sum(remainingQty, signed(side, rest)),
    costBasis: BigDecimal.sum(remainingCost, BigDecimal.multiply(signed(side, rest), price)),
    realizedPnl: BigDecimal.sum(p.realizedPnl, realized)
  })
}

export const applyTrade = (
  portfolio: Portfolio,
  trade: { readonly symbol: Symbol; readonly tradeType: Side; readonly quantity: BigDecimal.BigDecimal; readonly price: BigDecimal.BigDecimal }
): Portfolio => {
  const before = position(portfolio, trade.symbol)
  const after = applyFill(before, trade.tradeType, trade.quantity, trade.price)
  const notional = BigDecimal.multiply(trade.quantity, trade.price)
  return portfolioOf({
    cash: trade.tradeType === "BUY" ? BigDecimal.subtract(portfolio.cash, notional) : BigDecimal.sum(portfolio.cash, notional),
    positions: HashMap.set(portfolio.positions, trade.symbol, after),
    realizedPnl: BigDecimal.sum(portfolio.realizedPnl, BigDecimal.subtract(after.realizedPnl, before.realizedPnl))
  })
}

// The instances here are built without validation (`trusted`): their inputs are already-valid decimals.

/** The portfolio's evolve: the account's own `evolve`, projections and as-of queries all call it. */
export const evolve = (portfolio: Portfolio, event: AccountEvent): Portfolio => {
  switch (event._tag) {
    case "AccountOpened":
      return portfolioOf({ cash: event.initialBalance, positions: empty.positions, realizedPnl: empty.realizedPnl })
    case "FundsDeposited":
      return portfolioOf({ cash: BigDecimal.sum(portfolio.cash, event.amount), positions: portfolio.positions, realizedPnl: portfolio.realizedPnl })
    case "FundsWithdrawn":
      return portfolioOf({ cash: BigDecimal.subtract(portfolio.cash, event.amount), positions: portfolio.positions, realizedPnl: portfolio.realizedPnl })
    case "TradeExecuted":
      return applyTrade(portfolio, event)
    case "RiskLimitsSet":
    case "OrderPlaced":
    case "OrderRejected":
    case "OrderCancelled":
      return portfolio
  }
}

/** Gross exposure at cost: the sum of |cost basis| over positions. */
export const grossExposureAtCost = (portfolio: Portfolio, except?: Symbol): BigDecimal.BigDecimal =>
  HashMap.reduce(portfolio.positions, zero, (acc, p, symbol) =>
    symbol === except ? acc : BigDecimal.sum(acc, BigDecimal.abs(p.costBasis)))

export interface PositionValuation {
  readonly symbol: Symbol
  readonly quantity: BigDecimal.BigDecimal
  readonly averageCost: BigDecimal.BigDecimal
  readonly costBasis: BigDecimal.BigDecimal
  /** None when the symbol has no price yet. */
  readonly marketPrice: Option.Option<BigDecimal.BigDecimal>
  readonly marketValue: Option.Option<BigDecimal.BigDecimal>
  readonly unrealizedPnl: Option.Option<BigDecimal.BigDecimal>
  readonly realizedPnl: BigDecimal.BigDecimal
}

export interface Valuation {
  readonly cash: BigDecimal.BigDecimal
  /** Open positions and closed ones that realized P&L, by symbol. */
  readonly positions: ReadonlyArray<PositionValuation>
  /** Cash plus the market value of every position (at cost where there is no price). */
  readonly equity: BigDecimal.BigDecimal
}

/**
 * Marks a portfolio to market with the prices given (signed: a short position has a negative
 * value). Exact: round only where the figures are shown. Read models, as-of queries and
 * statements all value through this one function.
 */
export const valuation = (
  portfolio: Portfolio,
  priceOf: (symbol: Symbol) => Option.Option<BigDecimal.BigDecimal>
): Valuation => {
  const positions = Array.from(HashMap.entries(portfolio.positions))
    .filter(([, p]) => !BigDecimal.isZero(p.quantity) || !BigDecimal.isZero(p.realizedPnl))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([symbol, p]): PositionValuation => {
      const marketPrice = priceOf(symbol)
      const marketValue = Option.map(marketPrice, (price) => BigDecimal.multiply(p.quantity, price))
      return {
        symbol, quantity: p.quantity, averageCost: averageCost(p), costBasis: p.costBasis, marketPrice, marketValue,
        unrealizedPnl: Option.map(marketValue, (value) => BigDecimal.subtract(value, p.costBasis)), realizedPnl: p.realizedPnl
      }
    })
  const equity = positions.reduce(
    (total, p) => BigDecimal.sum(total, Option.getOrElse(p.marketValue, () => p.costBasis)),
    portfolio.cash
  )
  return { cash: portfolio.cash, positions, equity }
}
