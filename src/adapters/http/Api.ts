import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { LiveChannel } from "../../application/ports/LiveUpdates.js"
import { AccountType, OrderType, Side } from "../../domain/AccountEvents.js"
import { Currency, CustomerId, Symbol } from "../../domain/Ids.js"
import { MarketStatus } from "../../domain/Market.js"
import { BadRequest, Conflict, Forbidden, NotFound, Rejected, Unavailable } from "./ApiErrors.js"
import { Authentication } from "./Auth.js"

/** Amounts, prices and quantities travel as decimal strings; a JSON number is a 400. */
const Amount = Schema.BigDecimal.annotations({ description: "a decimal string, e.g. \"1500.00\"" })
const Shown = Schema.String.annotations({ description: "a decimal string at its display scale" })

export const Health = Schema.Struct({ status: Schema.Literal("ok"), store: Schema.String })

const CommandHeaders = Schema.Struct({
  "idempotency-key": Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
  "x-correlation-id": Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)))
})
const ReadParams = Schema.Struct({
  /** Read-your-writes: wait until the read model has projected this global position. */
  minPosition: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative()))
})
const AccountPath = Schema.Struct({ id: Schema.String })
const MarketPath = Schema.Struct({ symbol: Symbol })

/** Every command answers with the account's version and the global position of its last event. */
const Written = { version: Schema.Number, position: Schema.Number }

export const OpenAccountRequest = Schema.Struct({
  customerId: CustomerId, accountType: AccountType, currency: Currency, initialBalance: Amount
})
export const OpenAccountResponse = Schema.Struct({ accountId: Schema.String, ...Written })

export const RiskLimitsBody = Schema.Struct({
  maxOrderNotional: Schema.optional(Schema.NullOr(Amount)),
  maxPositionPerSymbol: Schema.optional(Schema.NullOr(Amount)),
  maxGrossExposure: Schema.optional(Schema.NullOr(Amount)),
  allowShort: Schema.optional(Schema.Boolean)
})
const RiskLimitsView = Schema.Struct({
  maxOrderNotional: Schema.NullOr(Shown), maxPositionPerSymbol: Schema.NullOr(Shown), maxGrossExposure: Schema.NullOr(Shown),
  allowShort: Schema.Boolean
})

export const AccountResponse = Schema.Struct({
  accountId: Schema.String, customerId: Schema.String, accountType: AccountType, currency: Schema.String,
  status: Schema.Literal("OPEN"), cash: Shown, availableCash: Shown, riskLimits: RiskLimitsView, version: Schema.Number
})

export const AmountRequest = Schema.Struct({ amount: Amount })
export const Acknowledged = Schema.Struct(Written)

export const OrderRequest = Schema.Struct({
  symbol: Symbol, side: Side, type: OrderType, quantity: Amount, limitPrice: Schema.optional(Amount)
})
export const OrderResponse = Schema.Struct({
  orderId: Schema.String,
  status: Schema.Literal("FILLED", "OPEN"),
  trade: Schema.optional(Schema.Struct({ tradeId: Schema.String, quantity: Shown, price: Shown, executedAt: Schema.String })),
  ...Written
})
export const CancelResponse = Schema.Struct({ orderId: Schema.String, ...Written })

export const MarketResponse = Schema.Struct({
  symbol: Schema.String, status: MarketStatus, lastPrice: Schema.NullOr(Shown), lastUpdated: Schema.NullOr(Schema.String)
})
export const OpenMarketRequest = Schema.Struct({
  priceBand: Schema.optional(Amount), orderBand: Schema.optional(Amount), haltOnAnomaly: Schema.optional(Schema.Boolean)
})
export const HaltRequest = Schema.Struct({ reason: Schema.optional(Schema.String.pipe(Schema.maxLength(500))) })
export const PriceRequest = Schema.Struct({ price: Amount, timestamp: Schema.DateTimeUtc })
export const MarketAck = Schema.Struct({ symbol: Schema.String, events: Schema.Array(Schema.String), version: Schema.Number, position: Schema.Number })

export const EventEnvelope = Schema.Struct({
  eventId: Schema.String, aggregateId: Schema.String, version: Schema.Number, position: Schema.Number, timestamp: Schema.String,
  type: Schema.String, schemaVersion: Schema.Number, data: Schema.Unknown,
  metadata: Schema.Struct({ userId: Schema.String, correlationId: Schema.String, causationId: Schema.String, commandId: Schema.String }),
  hash: Schema.String
})
export const EventsResponse = Schema.Struct({ items: Schema.Array(EventEnvelope), nextFromVersion: Schema.NullOr(Schema.Number) })
const EventsParams = Schema.Struct({
  fromVersion: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.positive())),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000)))
})

const PositionView = Schema.Struct({
  symbol: Schema.String, quantity: Shown, avgCost: Shown, marketPrice: Schema.NullOr(Shown), marketValue: Schema.NullOr(Shown),
  unrealizedPnl: Schema.NullOr(Shown), realizedPnl: Shown
})
export const PortfolioResponse = Schema.Struct({
  accountId: Schema.String, asOf: Schema.String, cash: Shown, positions: Schema.Array(PositionView), equity: Shown
})
const PortfolioParams = Schema.Struct({ ...ReadParams.fields, at: Schema.optional(Schema.DateTimeUtc) })

export const SummaryResponse = Schema.Struct({
  accountId: Schema.String, asOf: Schema.String,
  asOfPosition: Schema.Number.annotations({ description: "global position of the last event projected into the account" }),
  cash: Shown, equity: Shown, realizedPnl: Shown,
  unrealizedPnl: Schema.NullOr(Shown).annotations({ description: "of the priced positions; null when none is priced" }),
  openPositions: Schema.Number
})

export const TradesResponse = Schema.Struct({
  items: Schema.Array(Schema.Struct({
    tradeId: Schema.String, orderId: Schema.String, symbol: Schema.String, side: Side, quantity: Shown, price: Shown, executedAt: Schema.String
  })),
  nextCursor: Schema.NullOr(Schema.String)
})
const TradesParams = Schema.Struct({
  ...ReadParams.fields,
  from: Schema.optional(Schema.DateTimeUtc),
  to: Schema.optional(Schema.DateTimeUtc),
  symbol: Schema.optional(Symbol),
  limit: Schema.optional(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 500))),
  cursor: Schema.optional(Schema.String)
})

const Day = Schema.String.pipe(Schema.pattern(/^\d{4}-\d{2}-\d{2}$/)).annotations({ description: "a UTC date, YYYY-MM-DD" })
export const BalanceHistoryResponse = Schema.Array(Schema.Struct({ date: Schema.String, cash: Shown, equity: Shown }))
const BalanceHistoryParams = Schema.Struct({
  ...ReadParams.fields, from: Day, to: Day, interval: Schema.optional(Schema.Literal("day"))
})

export const VerifyResponse = Schema.Struct({
  ok: Schema.Boolean,
  checked: Schema.Number,
  firstBroken: Schema.optional(Schema.Struct({
    position: Schema.Number, eventId: Schema.NullOr(Schema.String), problem: Schema.String, detail: Schema.String
  }))
})

export class SystemGroup extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(Health)) {}

export class AccountsGroup extends HttpApiGroup.make("accounts")
  .add(HttpApiEndpoint.post("open", "/v1/accounts").setPayload(OpenAccountRequest).setHeaders(CommandHeaders)
    .addSuccess(OpenAccountResponse, { status: 201 }))
  .add(HttpApiEndpoint.get("get", "/v1/accounts/:id").setPath(AccountPath).setUrlParams(ReadParams).addSuccess(AccountResponse))
  .add(HttpApiEndpoint.post("deposit", "/v1/accounts/:id/deposits").setPath(AccountPath).setPayload(AmountRequest)
    .setHeaders(CommandHeaders).addSuccess(Acknowledged, { status: 201 }))
  .add(HttpApiEndpoint.post("withdraw", "/v1/accounts/:id/withdrawals").setPath(AccountPath).setPayload(AmountRequest)
    .setHeaders(CommandHeaders).addSuccess(Acknowledged, { status: 201 }))
  .add(HttpApiEndpoint.put("setRiskLimits", "/v1/accounts/:id/risk-limits").setPath(AccountPath).setPayload(RiskLimitsBody)
    .setHeaders(CommandHeaders).addSuccess(Acknowledged))
  .add(HttpApiEndpoint.post("placeOrder", "/v1/accounts/:id/orders").setPath(AccountPath).setPayload(OrderRequest)
    .setHeaders(CommandHeaders).addSuccess(OrderResponse, { status: 201 }))
  .add(HttpApiEndpoint.del("cancelOrder", "/v1/accounts/:id/orders/:orderId")
    .setPath(Schema.Struct({ id: Schema.String, orderId: Schema.String })).setHeaders(CommandHeaders).addSuccess(CancelResponse))
  .add(HttpApiEndpoint.get("portfolio", "/v1/accounts/:id/portfolio").setPath(AccountPath).setUrlParams(PortfolioParams)
    .addSuccess(PortfolioResponse))
  .add(HttpApiEndpoint.get("summary", "/v1/accounts/:id/summary").setPath(AccountPath).setUrlParams(ReadParams)
    .addSuccess(SummaryResponse)
    .annotate(OpenApi.Description, "Cash, equity and P&L totals from the read models (the hot cache when on); `minPosition` for read-your-writes."))
  .add(HttpApiEndpoint.get("trades", "/v1/accounts/:id/trades").setPath(AccountPath).setUrlParams(TradesParams).addSuccess(TradesResponse))
  .add(HttpApiEndpoint.get("balanceHistory", "/v1/accounts/:id/balance-history").setPath(AccountPath)
    .setUrlParams(BalanceHistoryParams).addSuccess(BalanceHistoryResponse))
  .add(HttpApiEndpoint.get("events", "/v1/accounts/:id/events").setPath(AccountPath).setUrlParams(EventsParams).addSuccess(EventsResponse))
  .addError(NotFound).addError(Forbidden).addError(Conflict).addError(Rejected).addError(Unavailable).addError(BadRequest)
  .middleware(Authentication) {}

export class MarketsGroup extends HttpApiGroup.make("markets")
  .add(HttpApiEndpoint.post("open", "/v1/markets/:symbol/open").setPath(MarketPath).setPayload(OpenMarketRequest)
    .setHeaders(CommandHeaders).addSuccess(MarketAck))
  .add(HttpApiEndpoint.post("close", "/v1/markets/:symbol/close").setPath(MarketPath).setHeaders(CommandHeaders).addSuccess(MarketAck))
  .add(HttpApiEndpoint.post("halt", "/v1/markets/:symbol/halt").setPath(MarketPath).setPayload(HaltRequest)
    .setHeaders(CommandHeaders).addSuccess(MarketAck))
  .add(HttpApiEndpoint.post("resume", "/v1/markets/:symbol/resume").setPath(MarketPath).setHeaders(CommandHeaders).addSuccess(MarketAck))
  .add(HttpApiEndpoint.post("price", "/v1/markets/:symbol/prices").setPath(MarketPath).setPayload(PriceRequest)
    .setHeaders(CommandHeaders).addSuccess(MarketAck))
  .add(HttpApiEndpoint.get("get", "/v1/markets/:symbol").setPath(MarketPath).addSuccess(MarketResponse))
  .addError(NotFound).addError(Forbidden).addError(Conflict).addError(Rejected).addError(Unavailable)
  .middleware(Authentication) {}

const StreamParams = Schema.Struct({
  channels: Schema.optional(Schema.compose(Schema.split(","), Schema.Array(LiveChannel)).annotations({
    description: "comma-separated: prices, fills, portfolios (default: all three)"
  }))
})
const EventStream = HttpApiSchema.Text({ contentType: "text/event-stream" }).annotations({
  description: "Server-Sent Events, at most once and without replay (reload from the read models after a reconnect). " +
    "`event: PriceChanged` data `{ symbol, price, at }`; `event: TradeFilled` data `{ tradeId, orderId, accountId, symbol, side, " +
    "quantity, price, executedAt }`; `event: PortfolioChanged` data `{ accountId, cash, equity, asOfPosition, at }`; decimals as " +
    "strings at their display scale. A comment line opens the stream once the subscription is in place, and another comes every 15 s (LEDGERLINE_STREAM_HEARTBEAT)."
})

export class LiveGroup extends HttpApiGroup.make("live")
  .add(HttpApiEndpoint.get("stream", "/v1/stream").setUrlParams(StreamParams).addSuccess(EventStream)
    .annotate(OpenApi.Description, "Live updates as Server-Sent Events. Prices go to everyone; a trader receives the fills and " +
      "portfolio changes of their own accounts, risk, auditor and admin those of every account."))
  .addError(BadRequest).addError(NotFound).addError(Unavailable)
  .middleware(Authentication) {}

export class AuditGroup extends HttpApiGroup.make("audit")
  .add(HttpApiEndpoint.get("verify", "/v1/audit/verify").addSuccess(VerifyResponse))
  .addError(Forbidden).addError(Unavailable)
  .middleware(Authentication) {}

/** The Ledgerline HTTP API: commands, queries and audit, described at /openapi.json. */
export class LedgerlineApi extends HttpApi.make("ledgerline")
  .add(SystemGroup).add(AccountsGroup).add(MarketsGroup).add(LiveGroup).add(AuditGroup)
  .annotate(OpenApi.Title, "Ledgerline")
  .annotate(OpenApi.Description, "Event-sourced trading: commands, queries, temporal queries and audit. Amounts are decimal strings.") {}
