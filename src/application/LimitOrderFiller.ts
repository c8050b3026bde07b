import { BigDecimal, Effect, Option, Schedule, Stream } from "effect"
import type { AccountEvent, Side } from "../domain/AccountEvents.js"
import type { AccountId, OrderId, Symbol } from "../domain/Ids.js"
import { Accounts, decodeEvents, Markets } from "./Aggregate.js"
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

/**
 * Fills resting LIMIT orders when a PriceUpdated crosses them, driven by the global log. Each fill
 * is a FillOrder command whose commandId is derived from the order, so replaying the log or a
 * second tick before the first fill lands never fills an order twice.
 */
export const processEvent = (book: OrderBook, recorded: RecordedEvent) =>
  Effect.gen(function*() {
    if (recorded.aggregateId.startsWith(`${Accounts.name}-`)) {
      if (recorded.type === "OrderPlaced" || recorded.type === "TradeExecuted" || recorded.type === "OrderCancelled") {
        const [event] = yield* decodeEvents(Accounts, [recorded])
        evolveBook(book, event!)
      }
      return
    }
    if (!recorded.aggregateId.startsWith(`${Markets.name}-`) || recorded.type !== "PriceUpdated") return
    const [tick] = yield* decodeEvents(Markets, [recorded])
    if (tick?._tag !== "PriceUpdated") return
    const crossing = [...(book.get(tick.symbol)?.values() ?? [])].filter((order) => crosses(order, tick.price))
    for (const order of crossing) {
      yield* fillOrder(order.accountId, order.orderId, tick.symbol, tick.price, {
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
      )
    }
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
    const follow = Effect.suspend(() =>
      store.subscribe(next).pipe(Stream.runForEach((event) =>
        Effect.tap(processEvent(book, event), () =>
          Effect.sync(() => {
            next = event.position + 1
          }))
      )))
    yield* follow.pipe(
      Effect.tapError((e) => Effect.logWarning(`limit-order filler: ${e.message}; following the log again from ${next}`)),
      Effect.retry(RESUME_AFTER)
    )
  }).pipe(Effect.withSpan("LimitOrderFiller.run"))
