import { BigDecimal, DateTime, Effect } from "effect"
import { decodeEvents, Markets } from "../Aggregate.js"
import type { RecordedEvent } from "../ports/EventStore.js"
import type { Bar } from "../ports/ReadModel.js"
import { type ReadModelChanges, ReadModelStore } from "../ports/ReadModelStore.js"

export const handles = (e: RecordedEvent): boolean => e.type === "PriceUpdated" && e.aggregateId.startsWith(`${Markets.name}-`)

/** The start of the UTC minute an instant falls in. */
export const minuteOf = (t: DateTime.Utc): DateTime.Utc => DateTime.unsafeMake(Math.floor(t.epochMillis / 60_000) * 60_000)

const key = (symbol: string, minute: DateTime.Utc) => `${symbol}\u0000${minute.epochMillis}`

/**
 * One-minute OHLC bars per symbol, by the feed's time of each accepted tick. The market refuses a
 * tick that is not later than the last one, so ticks arrive in time order and the last is the close.
 */
export const project = (events: ReadonlyArray<RecordedEvent>) =>
  Effect.gen(function*() {
    const ticks = (yield* decodeEvents(Markets, events.filter(handles))).flatMap((e) => e._tag === "PriceUpdated" ? [e] : [])
    if (ticks.length === 0) return {} satisfies ReadModelChanges
    const store = yield* ReadModelStore
    const keys = new Map(ticks.map((t) => [key(t.symbol, minuteOf(t.timestamp)), { symbol: t.symbol, minute: minuteOf(t.timestamp) }]))
    const bars = new Map<string, Bar>((yield* store.loadBars([...keys.values()])).map((b) => [key(b.symbol, b.minute), b]))
    for (const tick of ticks) {
      const minute = minuteOf(tick.timestamp)
      const k = key(tick.symbol, minute)
      const bar = bars.get(k)
      bars.set(k, bar === undefined
        ? { symbol: tick.symbol, minute, open: tick.price, high: tick.price, low: tick.price, close: tick.price, ticks: 1 }
        : {
          ...bar, high: BigDecimal.max(bar.high, tick.price), low: BigDecimal.min(bar.low, tick.price), close: tick.price,
          ticks: bar.ticks + 1
        })
    }
    return { bars: [...keys.keys()].flatMap((k) => bars.get(k) ?? []) } satisfies ReadModelChanges
  })
