import { Schema } from "effect"
import { Decimal } from "./Decimal.js"
import { OrderId, Symbol } from "./Ids.js"

// Each rejection names its situation and carries a stable reason code and the fields a 422 needs.

export class AccountNotOpen extends Schema.TaggedError<AccountNotOpen>()("AccountNotOpen", {}) {
  get code() { return "ACCOUNT_NOT_OPEN" as const }
  override get message() { return "The account is not open" }
}

export class AccountAlreadyOpen extends Schema.TaggedError<AccountAlreadyOpen>()("AccountAlreadyOpen", {}) {
  get code() { return "ACCOUNT_ALREADY_OPEN" as const }
  override get message() { return "The account is already open" }
}

/** An amount, price or quantity that is not positive or has more decimals than its scale allows. */
export class InvalidAmount extends Schema.TaggedError<InvalidAmount>()("InvalidAmount", {
  field: Schema.String,
  value: Decimal,
  problem: Schema.Literal("NOT_POSITIVE", "NEGATIVE", "TOO_MANY_DECIMALS")
}) {
  get code() { return "INVALID_AMOUNT" as const }
  override get message() {
    return this.problem === "TOO_MANY_DECIMALS"
      ? `${this.field} has too many decimal places`
      : `${this.field} must be ${this.problem === "NEGATIVE" ? "zero or more" : "positive"}`
  }
}

export class InvalidOrder extends Schema.TaggedError<InvalidOrder>()("InvalidOrder", {
  field: Schema.String,
  problem: Schema.Literal("LIMIT_PRICE_REQUIRED", "LIMIT_PRICE_NOT_ALLOWED")
}) {
  get code() { return this.problem }
  override get message() {
    return this.problem === "LIMIT_PRICE_REQUIRED" ? "A LIMIT order needs a limitPrice" : "A MARKET order takes no limitPrice"
  }
}

export class InsufficientFunds extends Schema.TaggedError<InsufficientFunds>()("InsufficientFunds", {
  requested: Decimal,
  available: Decimal
}) {
  get code() { return "INSUFFICIENT_FUNDS" as const }
  override get message() { return "Available cash does not cover the amount" }
}

export class InsufficientPosition extends Schema.TaggedError<InsufficientPosition>()("InsufficientPosition", {
  symbol: Symbol,
  requested: Decimal,
  available: Decimal
}) {
  get code() { return "INSUFFICIENT_POSITION" as const }
  override get message() { return `The position in ${this.symbol} does not cover the sale and short selling is not allowed` }
}

export class OrderNotionalLimitExceeded extends Schema.TaggedError<OrderNotionalLimitExceeded>()("OrderNotionalLimitExceeded", {
  notional: Decimal,
  limit: Decimal
}) {
  get code() { return "MAX_ORDER_NOTIONAL_EXCEEDED" as const }
  override get message() { return "The order's notional exceeds the account's maximum order notional" }
}

export class PositionLimitExceeded extends Schema.TaggedError<PositionLimitExceeded>()("PositionLimitExceeded", {
  symbol: Symbol,
  resulting: Decimal,
  limit: Decimal
}) {
  get code() { return "MAX_POSITION_EXCEEDED" as const }
  override get message() { return `The position in ${this.symbol} would exceed the account's maximum per symbol` }
}

export class GrossExposureLimitExceeded extends Schema.TaggedError<GrossExposureLimitExceeded>()("GrossExposureLimitExceeded", {
  resulting: Decimal,
  limit: Decimal
}) {
  get code() { return "MAX_GROSS_EXPOSURE_EXCEEDED" as const }
  override get message() { return "The account's gross exposure would exceed its maximum" }
}

export class MarketClosed extends Schema.TaggedError<MarketClosed>()("MarketClosed", { symbol: Symbol }) {
  get code() { return "MARKET_CLOSED" as const }
  override get message() { return `Market ${this.symbol} is not open` }
}

export class MarketHalted extends Schema.TaggedError<MarketHalted>()("MarketHalted", { symbol: Symbol }) {
  get code() { return "MARKET_HALTED" as const }
  override get message() { return `Trading in ${this.symbol} is halted` }
}

export class NoReferencePrice extends Schema.TaggedError<NoReferencePrice>()("NoReferencePrice", { symbol: Symbol }) {
  get code() { return "NO_REFERENCE_PRICE" as const }
  override get message() { return `Market ${this.symbol} has no price yet` }
}

/** Fat-finger guard: a LIMIT price too far from the last price. */
export class PriceOutsideBand extends Schema.TaggedError<PriceOutsideBand>()("PriceOutsideBand", {
  symbol: Symbol,
  limitPrice: Decimal,
  lastPrice: Decimal,
  band: Decimal
}) {
  get code() { return "PRICE_OUTSIDE_BAND" as const }
  override get message() { return `The limit price is more than ${this.band} away from the last price of ${this.symbol}` }
}

export class OrderNotFound extends Schema.TaggedError<OrderNotFound>()("OrderNotFound", { orderId: OrderId }) {
  get code() { return "ORDER_NOT_FOUND" as const }
  override get message() { return `No open order ${this.orderId}` }
}

export class OrderNotCrossed extends Schema.TaggedError<OrderNotCrossed>()("OrderNotCrossed", {
  orderId: OrderId,
  price: Decimal,
  limitPrice: Decimal
}) {
  get code() { return "ORDER_NOT_CROSSED" as const }
  override get message() { return `The price does not cross the limit of order ${this.orderId}` }
}

/** The refusals of an order placement: these are recorded as OrderRejected. */
export const OrderRefusal = Schema.Union(
  AccountNotOpen, InvalidAmount, InvalidOrder, InsufficientFunds, InsufficientPosition, OrderNotionalLimitExceeded,
  PositionLimitExceeded, GrossExposureLimitExceeded, MarketClosed, MarketHalted, NoReferencePrice, PriceOutsideBand
)
export type OrderRefusal = typeof OrderRefusal.Type

export type AccountRejection = OrderRefusal | AccountAlreadyOpen | OrderNotFound | OrderNotCrossed
