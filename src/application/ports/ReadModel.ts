import { Context, type DateTime, type Effect, type Option, Schema } from "effect"
import type { BigDecimal } from "effect"

export class ReadModelUnavailable extends Schema.TaggedError<ReadModelUnavailable>()("ReadModelUnavailable", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** A row of `portfolio_positions` (the brief's DDL), figures as projected (display scales, half-even). */
export interface PositionRow {
  readonly symbol: string
  readonly quantity: BigDecimal.BigDecimal
  readonly avgCost: BigDecimal.BigDecimal
  readonly marketPrice: Option.Option<BigDecimal.BigDecimal>
  readonly marketValue: Option.Option<BigDecimal.BigDecimal>
  readonly unrealizedPnl: Option.Option<BigDecimal.BigDecimal>
  readonly realizedPnl: BigDecimal.BigDecimal
  readonly lastUpdated: DateTime.Utc
}

export interface PortfolioRow {
  readonly accountId: string
  readonly cash: BigDecimal.BigDecimal
  readonly positions: ReadonlyArray<PositionRow>
  readonly equity: BigDecimal.BigDecimal
  /** Global position of the last event projected into this portfolio. */
  readonly asOfPosition: number
  readonly lastUpdated: DateTime.Utc
}

/** A row of `trade_history` (the brief's DDL). */
export interface TradeRow {
  readonly tradeId: string
  readonly orderId: string
  readonly accountId: string
  readonly symbol: string
  readonly side: "BUY" | "SELL"
  readonly quantity: BigDecimal.BigDecimal
  readonly price: BigDecimal.BigDecimal
  readonly executedAt: DateTime.Utc
}

export interface TradeQuery {
  readonly from?: DateTime.Utc
  readonly to?: DateTime.Utc
  readonly symbol?: string
  readonly limit: number
  /** Opaque keyset cursor from the previous page. */
  readonly cursor?: string
}

/** End-of-day balance of an account: cash and equity (marked at that day's last prices). */
export interface BalancePoint {
  readonly date: string
  readonly cash: BigDecimal.BigDecimal
  readonly equity: BigDecimal.BigDecimal
}

export interface PriceRow {
  readonly symbol: string
  readonly price: BigDecimal.BigDecimal
  readonly at: DateTime.Utc
}

/** A one-minute OHLC bar. */
export interface Bar {
  readonly symbol: string
  readonly minute: DateTime.Utc
  readonly open: BigDecimal.BigDecimal
  readonly high: BigDecimal.BigDecimal
  readonly low: BigDecimal.BigDecimal
  readonly close: BigDecimal.BigDecimal
  readonly ticks: number
}

/** The query side: read models projected from the global log. */
export class ReadModel extends Context.Tag("ledgerline/ReadModel")<ReadModel, {
  /** The last global position every read model has projected (0 before any). */
  readonly position: Effect.Effect<number, ReadModelUnavailable>
  readonly portfolio: (accountId: string) => Effect.Effect<Option.Option<PortfolioRow>, ReadModelUnavailable>
  readonly trades: (accountId: string, query: TradeQuery) => Effect.Effect<
    { readonly items: ReadonlyArray<TradeRow>; readonly nextCursor: Option.Option<string> },
    ReadModelUnavailable
  >
  readonly balanceHistory: (accountId: string, from: string, to: string) => Effect.Effect<ReadonlyArray<BalancePoint>, ReadModelUnavailable>
  readonly latestPrice: (symbol: string) => Effect.Effect<Option.Option<PriceRow>, ReadModelUnavailable>
  readonly bars: (symbol: string, from: DateTime.Utc, to: DateTime.Utc) => Effect.Effect<ReadonlyArray<Bar>, ReadModelUnavailable>
}>() {}
