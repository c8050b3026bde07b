import { Effect } from "effect"
import { Accounts, decodeEvents } from "../Aggregate.js"
import type { RecordedEvent } from "../ports/EventStore.js"
import type { TradeRow } from "../ports/ReadModel.js"
import type { ReadModelChanges } from "../ports/ReadModelStore.js"

export const handles = (e: RecordedEvent): boolean => e.type === "TradeExecuted" && e.aggregateId.startsWith(`${Accounts.name}-`)

/** The trade-history projection: one `trade_history` row per TradeExecuted. */
export const project = (events: ReadonlyArray<RecordedEvent>) =>
  Effect.map(decodeEvents(Accounts, events.filter(handles)), (decoded) => ({
    trades: decoded.flatMap((e): Array<TradeRow> =>
      e._tag === "TradeExecuted"
        ? [{
          tradeId: e.tradeId, orderId: e.orderId, accountId: e.accountId, symbol: e.symbol, side: e.tradeType,
          quantity: e.quantity, price: e.price, executedAt: e.executedAt
        }]
        : [])
  }) satisfies ReadModelChanges)
