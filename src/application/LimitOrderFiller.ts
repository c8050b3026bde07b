import { BigDecimal, Chunk, Effect, Option, Schedule, Stream } from "effect"
import type { AccountEvent, Side } from "../domain/AccountEvents.js"
import type { AccountId, OrderId, Symbol } from "../domain/Ids.js"
import { Accounts, Markets } from "./Aggregate.js"
import { fillOrder } from "./TradingAccounts.js"
import { EventStore, type RecordedEvent } from "./ports/EventStore.js"

interface Resting {
  readonly accountId: AccountId
  readonly orderId: OrderId
  readonly side: Side
  readonly limitPrice: BigDecimal.BigDecimal
}

/** Resting LIMIT orders by symbol, in time priority: a read model with its own evolve. */
export type OrderBook = Map<Symbol, Map<OrderId, Resting>>


export const evolveBook = (book: OrderBook, event: AccountEvent): OrderBook => {
  switch (event._tag) {
    case "OrderPlaced":
      if (Option.isSome(event.limitPrice)) {
        const orders = book.get(event.symbol) ?? new Map<OrderId, Resting>()
        orders.set(event.orderId, { accountId: event.accountId, orderId: event.orderId, side: event.side, limitPrice: event.limitPrice.value })
        book.set(event.symbol, orders)
      }
      return book
    case "TradeExecuted":
    case "OrderCancelled":
      for (const orders of book.values()) orders.delete(event.orderId)
      return book
    default:
      return book
  }
}

/** How often a fill the process turned away (CommandsOverloaded) is tried again. */
const OVERLOADED_RETRY = Schedule.spaced("10 millis")

/** A BUY crosses at or below its limit, a SELL at or above. */
const crosses = (order: Resting, price: BigDecimal.BigDecimal) =>
  order.side === "BUY" ? BigDecimal.lessThanOrEqualTo(price, order.limitPrice) : BigDecimal.greaterThanOrEqualTo(price, order.limitPrice)

const ACCOUNT_STREAMS = `${Accounts.name}-`
const MARKET_STREAMS = `${Markets.name}-`

const resting = (book: OrderBook) => {
  for (const orders of book.values()) if (orders.size > 0) return true
  return false
}

/** A tick and the resting orders it crosses. */
interface Crossing {
  readonly recorded: RecordedEvent
  readonly symbol: Symbol
  readonly price: BigDecimal.BigDecimal
  readonly orders: ReadonlyArray<Resting>
}

/**
 * One event of the log on the book, synchronously: an order placed, filled or cancelled moves the
 * book, a PriceUpdated answers the resting orders it crosses. Only what can matter is decoded: a
 * fill or a cancel when some order rests, every OrderPlaced (its limit price is in the event).
 */
export const applyEvent = (book: OrderBook, recorded: RecordedEvent): Crossing | undefined => {
  if (recorded.aggregateId.startsWith(ACCOUNT_STREAMS)) {
    if (recorded.type === "OrderPlaced" || ((recorded.type === "TradeExecuted" || recorded.type === "OrderCancelled") && resting(book))) {
      evolveBook(book, Accounts.codec.decode(recorded.type, recorded.schemaVersion, recorded.data))
    }
    return undefined
  }
  if (recorded.type !== "PriceUpdated" || !recorded.aggregateId.startsWith(MARKET_STREAMS)) return undefined
  const orders = book.get(recorded.aggregateId.slice(MARKET_STREAMS.length) as Symbol)
  if (orders === undefined || orders.size === 0) return undefined
  const tick = Markets.codec.decode(recorded.type, recorded.schemaVersion, recorded.data)
  if (tick._tag !== "PriceUpdated") return undefined
  const crossing = [...(book.get(tick.symbol)?.values() ?? [])].filter((order) => crosses(order, tick.price))
  return crossing.length === 0 ? undefined : { recorded, symbol: tick.symbol, price: tick.price, orders: crossing }
}

/**
 * Each crossed order as a FillOrder command whose commandId is derived from the order, so
 * replaying the log or a second tick before the first fill lands never fills an order twice.
 */
const fill = ({ orders, price, recorded, symbol }: Crossing) =>
  Effect.forEach(orders, (order) =>
    fillOrder(order.accountId, order.orderId, symbol, price, {
      commandId: `fill-${order.orderId}`,
      userId: "limit-order-filler",
      correlationId: recorded.metadata.correlationId,
      causationId: recorded.eventId
    }).pipe(
      // a process too busy to take the fill now takes it shortly: the filler waits, as the tick's
      // fills must not be skipped
      Effect.retry({ while: (e) => e._tag === "CommandsOverloaded", schedule: OVERLOADED_RETRY }),
      Effect.catchIf(
        (e) => !(e._tag === "EventStoreUnavailable" || e._tag === "CommandsOverloaded"),
        (e) => Effect.logDebug(`order ${order.orderId} not filled: ${e._tag}`)
      )
    ), { discard: true })

/** Fills resting LIMIT orders when a PriceUpdated crosses them (`applyEvent`, then `fill`). */
export const processEvent = (book: OrderBook, recorded: RecordedEvent) =>
  Effect.suspend(() => {
    const crossing = applyEvent(book, recorded)
    return crossing === undefined ? Effect.void : fill(crossing)
  })

/** How long the filler waits after the store failed before it follows the log again. */
const RESUME_AFTER = Schedule.spaced("1 second")

/**
 * Runs the filler from a position of the global log until interrupted. When the store fails (the
 * subscription, or a fill's append), it waits and follows the log again from the event it had not
 * finished, with its book kept: a tick whose fills were partly made is processed again, and the
 * fills already made answer as repeats (their commandId is the order's).
 */
export const runLimitOrderFiller = (fromPosition = 1) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const book: OrderBook = new Map()
    let next = fromPosition
    // a chunk of the log in one step: an effect only for a tick's fills (one order placed by
    // MARKET costs a decode and no fiber step of its own)
    const from = (events: ReadonlyArray<RecordedEvent>, start: number): ReturnType<typeof fill> => {
      for (let i = start; i < events.length; i++) {
        const recorded = events[i]!
        const crossing = applyEvent(book, recorded)
        if (crossing !== undefined) {
          return Effect.zipRight(fill(crossing), Effect.suspend(() => {
            next = recorded.position + 1
            return from(events, i + 1)
          }))
        }
        next = recorded.position + 1
      }
      return Effect.void
    }
    const follow = Effect.suspend(() =>
      store.subscribe(next).pipe(Stream.runForEachChunk((chunk) => Effect.suspend(() => from(Chunk.toReadonlyArray(chunk), 0)))))
    yield* follow.pipe(
      Effect.tapError((e) => Effect.logWarning(`limit-order filler: ${e.message}; following the log again from ${next}`)),
      Effect.retry(RESUME_AFTER)
    )
  }).pipe(Effect.withSpan("LimitOrderFiller.run"))
