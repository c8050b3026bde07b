import { Context, type Effect, Schema, type Scope, type Stream } from "effect"

/** A symbol's latest price moved (the portfolio projection applied a tick). */
export class PriceChanged extends Schema.TaggedClass<PriceChanged>()("PriceChanged", {
  symbol: Schema.String,
  price: Schema.BigDecimal,
  at: Schema.DateTimeUtc
}) {}

/** A trade was executed and recorded in the trade history. */
export class TradeFilled extends Schema.TaggedClass<TradeFilled>()("TradeFilled", {
  tradeId: Schema.String,
  orderId: Schema.String,
  accountId: Schema.String,
  symbol: Schema.String,
  side: Schema.Literal("BUY", "SELL"),
  quantity: Schema.BigDecimal,
  price: Schema.BigDecimal,
  executedAt: Schema.DateTimeUtc
}) {}

/** An account's portfolio changed: cash and equity as served (half-even at 2 dp), and the position it reflects. */
export class PortfolioChanged extends Schema.TaggedClass<PortfolioChanged>()("PortfolioChanged", {
  accountId: Schema.String,
  cash: Schema.BigDecimal,
  equity: Schema.BigDecimal,
  asOfPosition: Schema.Number,
  at: Schema.DateTimeUtc
}) {}

/** What goes over the wire: JSON, decimals as strings, instants as ISO strings. */
export const LiveUpdate = Schema.Union(PriceChanged, TradeFilled, PortfolioChanged)
export type LiveUpdate = typeof LiveUpdate.Type

export const LiveChannel = Schema.Literal("prices", "fills", "portfolios")
export type LiveChannel = typeof LiveChannel.Type

export const channelOf = (update: LiveUpdate): LiveChannel =>
  update._tag === "PriceChanged" ? "prices" : update._tag === "TradeFilled" ? "fills" : "portfolios"

export class LiveUpdatesUnavailable extends Schema.TaggedError<LiveUpdatesUnavailable>()("LiveUpdatesUnavailable", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * Fan-out of live updates to every API instance. At most once and without replay: a subscriber
 * that was away (or slow) misses updates, and reloads from the read model.
 */
export class LiveUpdates extends Context.Tag("ledgerline/LiveUpdates")<LiveUpdates, {
  /** Sends each update on its channel (`channelOf`) to every subscriber of every instance, in order. */
  readonly publish: (updates: ReadonlyArray<LiveUpdate>) => Effect.Effect<void, LiveUpdatesUnavailable>
  /** Subscribes to `channel` (in place once this succeeds); the stream carries what is published from then on, until the scope closes. */
  readonly subscribe: (channel: LiveChannel) => Effect.Effect<Stream.Stream<LiveUpdate>, LiveUpdatesUnavailable, Scope.Scope>
}>() {}
