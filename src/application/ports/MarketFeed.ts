import { type BigDecimal, Context, type DateTime, Schema, type Stream } from "effect"
import type { Symbol } from "../../domain/Ids.js"

/** One price from the feed, stamped with the feed's own time. */
export interface Tick {
  readonly symbol: Symbol
  readonly price: BigDecimal.BigDecimal
  readonly timestamp: DateTime.Utc
}

/** The feed lost its source (a dropped connection); the consumer subscribes again after a back-off. */
export class MarketFeedUnavailable extends Schema.TaggedError<MarketFeedUnavailable>()("MarketFeedUnavailable", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

export class MarketFeed extends Context.Tag("ledgerline/MarketFeed")<MarketFeed, {
  /**
   * Ticks as they arrive, in feed-time order per symbol. Each run is a fresh subscription; a live
   * feed never ends by itself, a recorded one ends after its last tick.
   */
  readonly ticks: Stream.Stream<Tick, MarketFeedUnavailable>
}>() {}
