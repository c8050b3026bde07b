import { BigDecimal, DateTime, Effect, GroupBy, Schedule, Stream } from "effect"
import type { Symbol } from "../domain/Ids.js"
import * as Markets from "./Markets.js"
import { MarketFeed, type Tick } from "./ports/MarketFeed.js"

export type MarketFeedOptions = {
  /** Back-off between retries of a tick the store could not take, and between feed re-subscriptions. */
  readonly backOff?: Schedule.Schedule<unknown, unknown>
} & (
  | { readonly openMarkets: false }
  | {
    readonly openMarkets: true
    /** A never-listed market is opened with these on its first tick (a closed one stays closed). */
    readonly settings: Markets.MarketSettings
  }
)

/** 100 ms doubling to at most 10 s, jittered, for as long as it takes: the feed never gives up. */
export const defaultBackOff: Schedule.Schedule<unknown, unknown> = Schedule.exponential("100 millis").pipe(
  Schedule.either(Schedule.spaced("10 seconds")),
  Schedule.jittered
)

/**
 * The tick's commandId: the same tick delivered twice (or retried after an ambiguous store failure)
 * is recorded once; a different price at the same feed time is a new command the market decides.
 */
const commandId = (tick: Tick) => `tick-${tick.symbol}-${DateTime.toEpochMillis(tick.timestamp)}-${BigDecimal.format(BigDecimal.normalize(tick.price))}`

/**
 * Sends every tick of the MarketFeed through the market decider (`Markets.updatePrice`), which
 * records it as PriceUpdated or PriceRejected. Ticks of one symbol are sent in feed order, symbols
 * in parallel. A business refusal is logged (once per change of reason and symbol, so a closed
 * market does not flood the log) and the feed goes on; EventStoreUnavailable and CommandsOverloaded
 * are retried with back-off, and a feed that fails is subscribed to again. Ends only when the feed does.
 */
export const runMarketFeed = (options: MarketFeedOptions) =>
  Effect.gen(function*() {
    const feed = yield* MarketFeed
    const backOff = options.backOff ?? defaultBackOff
    const lastRefusal = new Map<Symbol, string>()

    const report = (symbol: Symbol, refusal: string | undefined) => {
      if (lastRefusal.get(symbol) === refusal) return Effect.void
      if (refusal === undefined) {
        lastRefusal.delete(symbol)
        return Effect.logInfo(`market data: ${symbol} accepts ticks again`)
      }
      lastRefusal.set(symbol, refusal)
      return Effect.logWarning(`market data: ${symbol} tick refused: ${refusal}`)
    }

    const send = (tick: Tick) =>
      Markets.updatePrice(tick.symbol, tick.price, tick.timestamp, { commandId: commandId(tick), userId: "market-feed" })

    const openThenSend = (tick: Tick, settings: Markets.MarketSettings) =>
      Markets.openMarket(tick.symbol, settings, { userId: "market-feed" }).pipe(
        Effect.zipRight(Effect.logInfo(`market data: opened ${tick.symbol} on its first tick`)),
        // another instance of the feed may have opened it first
        Effect.catchTag("MarketAlreadyOpen", () => Effect.void),
        Effect.zipRight(send(tick))
      )

    const handle = (tick: Tick) =>
      send(tick).pipe(
        Effect.catchTag("MarketNotListed", (e) => options.openMarkets ? openThenSend(tick, options.settings) : Effect.fail(e)),
        // a store outage, or a process too busy to take the tick now, passes: try it again
        Effect.retry({ schedule: backOff, while: (e) => e._tag === "EventStoreUnavailable" || e._tag === "CommandsOverloaded" }),
        Effect.flatMap((result) => {
          const rejected = result.events.find((e) => e._tag === "PriceRejected")
          return report(tick.symbol, rejected === undefined ? undefined : `PriceRejected ${rejected.anomaly}`)
        }),
        // Every failure left is a refusal of this one tick (or a store outage the back-off gave up
        // on): each is logged by name and the feed moves on to the next tick.
        Effect.catchAll((e) => report(tick.symbol, `${e._tag}: ${e.message}`))
      )

    yield* feed.ticks.pipe(
      Stream.tapError((e) => Effect.logWarning(`market data: feed unavailable, subscribing again: ${e.reason}`)),
      Stream.retry(backOff),
      Stream.groupByKey((tick) => tick.symbol, { bufferSize: 64 }),
      GroupBy.evaluate((_, ticks) => Stream.mapEffect(ticks, handle), { bufferSize: 64 }),
      Stream.runDrain
    )
  }).pipe(Effect.withSpan("MarketData.runMarketFeed"))
