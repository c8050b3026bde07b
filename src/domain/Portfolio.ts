import { BigDecimal, HashMap, Option, Schema } from "effect"
import type { AccountEvent, Side } from "./AccountEvents.js"
import { COST_SCALE, Decimal, divideRounded, PRICE_SCALE, zero } from "./Decimal.js"
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

type PositionFields = { -readonly [K in "quantity" | "costBasis" | "realizedPnl"]: BigDecimal.BigDecimal }
interface PortfolioFields {
  cash: BigDecimal.BigDecimal
  positions: HashMap.HashMap<Symbol, Position>
  realizedPnl: BigDecimal.BigDecimal
}

/**
 * Instances from fields that are already valid, as `new Class(fields, true)` builds them (these
 * classes have no defaults to merge): the class's prototype, its keys in its order (structural
 * hashing follows the order of the keys). A constructor function of their own, not the class's
 * constructor with its copying and default lookup, nor Object.assign onto Object.create: the fold
 * builds one position and one portfolio per fill, in commands, projections and replays.
 */
const PositionInstance = function(this: PositionFields, fields: Readonly<PositionFields>) {
  this.quantity = fields.quantity
  this.costBasis = fields.costBasis
  this.realizedPnl = fields.realizedPnl
} as unknown as { new(fields: Readonly<PositionFields>): Position; prototype: Position }
PositionInstance.prototype = Position.prototype

const PortfolioInstance = function(this: PortfolioFields, fields: Readonly<PortfolioFields>) {
  this.cash = fields.cash
  this.positions = fields.positions
  this.realizedPnl = fields.realizedPnl
} as unknown as { new(fields: Readonly<PortfolioFields>): Portfolio; prototype: Portfolio }
PortfolioInstance.prototype = Portfolio.prototype

const positionOf = (fields: Readonly<PositionFields>): Position => new PositionInstance(fields)
const portfolioOf = (fields: Readonly<PortfolioFields>): Portfolio => new PortfolioInstance(fields)

export const empty = portfolioOf({ cash: zero, positions: HashMap.empty(), realizedPnl: zero })
const flat = positionOf({ quantity: zero, costBasis: zero, realizedPnl: zero })

export const position = (portfolio: Portfolio, symbol: Symbol): Position =>
  Option.getOrElse(HashMap.get(portfolio.positions, symbol), () => flat)

/** Average cost per unit at full precision (round only to show it); zero when flat. */
export const averageCost = (p: Position): BigDecimal.BigDecimal =>
  BigDecimal.isZero(p.quantity) ? zero : BigDecimal.unsafeDivide(p.costBasis, p.quantity)

/**
 * Average cost per unit as read models keep it and statements show it: half-even at PRICE_SCALE,
 * from one exact division (`divideRounded`). The full-precision quotient of `averageCost` is a
 * hundred digits worked out only to be rounded to four, and rounding it again can round a value
 * just above a half as if it were the half.
 */
export const averageCostShown = (p: Position): BigDecimal.BigDecimal =>
  BigDecimal.isZero(p.quantity) ? zero : divideRounded(p.costBasis, p.quantity, PRICE_SCALE)

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

// The instances here are built without validation (positionOf, portfolioOf): their inputs are already-valid decimals.

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
  /** Half-even at PRICE_SCALE (`averageCostShown`): what read models keep and statements show. */
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
        symbol, quantity: p.quantity, averageCost: averageCostShown(p), costBasis: p.costBasis, marketPrice, marketValue,
        unrealizedPnl: Option.map(marketValue, (value) => BigDecimal.subtract(value, p.costBasis)), realizedPnl: p.realizedPnl
      }
    })
  const equity = positions.reduce(
    (total, p) => BigDecimal.sum(total, Option.getOrElse(p.marketValue, () => p.costBasis)),
    portfolio.cash
  )
  return { cash: portfolio.cash, positions, equity }
}
