import { Schema } from "effect"
import { OrderRefusal } from "./AccountRejections.js"
import { Decimal } from "./Decimal.js"
import { AccountId, Currency, CustomerId, OrderId, Symbol, TradeId } from "./Ids.js"

export const AccountType = Schema.Literal("INDIVIDUAL", "CORPORATE")
export type AccountType = typeof AccountType.Type

export const Side = Schema.Literal("BUY", "SELL")
export type Side = typeof Side.Type

export const OrderType = Schema.Literal("MARKET", "LIMIT")
export type OrderType = typeof OrderType.Type

export class AccountOpened extends Schema.TaggedClass<AccountOpened>()("AccountOpened", {
  accountId: AccountId,
  customerId: CustomerId,
  accountType: AccountType,
  initialBalance: Decimal,
  currency: Currency,
  openedAt: Schema.DateTimeUtc
}) {}

export class FundsDeposited extends Schema.TaggedClass<FundsDeposited>()("FundsDeposited", {
  accountId: AccountId,
  amount: Decimal,
  depositedAt: Schema.DateTimeUtc
}) {}

export class FundsWithdrawn extends Schema.TaggedClass<FundsWithdrawn>()("FundsWithdrawn", {
  accountId: AccountId,
  amount: Decimal,
  withdrawnAt: Schema.DateTimeUtc
}) {}

/** The account's risk limits; an absent limit does not apply. */
export class RiskLimits extends Schema.Class<RiskLimits>("RiskLimits")({
  maxOrderNotional: Schema.OptionFromNullOr(Decimal),
  maxPositionPerSymbol: Schema.OptionFromNullOr(Decimal),
  maxGrossExposure: Schema.OptionFromNullOr(Decimal),
  allowShort: Schema.Boolean
}) {}

export class RiskLimitsSet extends Schema.TaggedClass<RiskLimitsSet>()("RiskLimitsSet", {
  accountId: AccountId,
  limits: RiskLimits,
  setAt: Schema.DateTimeUtc
}) {}

export class OrderPlaced extends Schema.TaggedClass<OrderPlaced>()("OrderPlaced", {
  accountId: AccountId,
  orderId: OrderId,
  symbol: Symbol,
  side: Side,
  orderType: OrderType,
  quantity: Decimal,
  limitPrice: Schema.OptionFromNullOr(Decimal),
  /** Cash set aside while a BUY rests (quantity × limit price); zero for everything else. */
  reserved: Decimal,
  placedAt: Schema.DateTimeUtc
}) {}

/** A refused order, kept for the audit trail with the full refusal (its reason code and figures). */
export class OrderRejected extends Schema.TaggedClass<OrderRejected>()("OrderRejected", {
  accountId: AccountId,
  orderId: OrderId,
  symbol: Symbol,
  side: Side,
  orderType: OrderType,
  quantity: Decimal,
  limitPrice: Schema.OptionFromNullOr(Decimal),
  reason: OrderRefusal,
  rejectedAt: Schema.DateTimeUtc
}) {}

export class TradeExecuted extends Schema.TaggedClass<TradeExecuted>()("TradeExecuted", {
  tradeId: TradeId,
  accountId: AccountId,
  orderId: OrderId,
  symbol: Symbol,
  quantity: Decimal,
  price: Decimal,
  tradeType: Side,
  executedAt: Schema.DateTimeUtc,
  /**
   * Where it executed (v2). Fills are made by the platform against the last price, so "INTERNAL";
   * events written as v1 read with this default.
   */
  venue: Schema.propertySignature(Schema.String).annotations({
    default: "INTERNAL",
    description: "Execution venue: a MIC, or INTERNAL for fills the platform made at the last price (added in v2)"
  }).pipe(Schema.withConstructorDefault(() => "INTERNAL"))
}) {}

export class OrderCancelled extends Schema.TaggedClass<OrderCancelled>()("OrderCancelled", {
  accountId: AccountId,
  orderId: OrderId,
  cancelledAt: Schema.DateTimeUtc
}) {}

export const AccountEvent = Schema.Union(
  AccountOpened, FundsDeposited, FundsWithdrawn, RiskLimitsSet, OrderPlaced, OrderRejected, TradeExecuted, OrderCancelled
)
export type AccountEvent = typeof AccountEvent.Type

/** Schema version of each account event type, stored with every event. */
export const AccountEventVersions = {
  AccountOpened: 2, FundsDeposited: 2, FundsWithdrawn: 2, RiskLimitsSet: 2,
  OrderPlaced: 2, OrderRejected: 2, TradeExecuted: 3, OrderCancelled: 2
} as const satisfies Record<AccountEvent["_tag"], number>
