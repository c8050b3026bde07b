import { BigDecimal, DateTime, Option } from "effect"
import { CASH_SCALE, roundHalfEven } from "../../domain/Decimal.js"
import type { BalancePoint, PortfolioRow, TradeQuery, TradeRow } from "../ports/ReadModel.js"
import type { AccountRecord, BalanceRecord, PositionRecord } from "../ports/ReadModelStore.js"

// What every ReadModel adapter answers, from the records it stores: one shape for all of them.

const money = (x: BigDecimal.BigDecimal) => roundHalfEven(x, CASH_SCALE)

/** The portfolio as served: exact figures rounded half-even to their display scale, positions by symbol. */
export const portfolioRow = (account: AccountRecord, positions: ReadonlyArray<PositionRecord>): PortfolioRow => ({
  accountId: account.accountId,
  cash: money(account.cash),
  equity: money(account.equity),
  asOfPosition: account.asOfPosition,
  lastUpdated: account.lastUpdated,
  positions: [...positions]
    .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0))
    .map((p) => ({
      symbol: p.symbol,
      quantity: p.quantity,
      avgCost: p.avgCost,
      marketPrice: p.marketPrice,
      marketValue: p.marketValue,
      unrealizedPnl: p.unrealizedPnl,
      realizedPnl: money(p.realizedPnl),
      lastUpdated: p.lastUpdated
    }))
})

export const balancePoint = (b: BalanceRecord): BalancePoint => ({ date: b.date, cash: money(b.cash), equity: money(b.equity) })

/** Where a page of trades ends: newest first, ties broken by trade id (UUIDv7, so by creation). */
export interface TradeCursor {
  readonly executedAt: DateTime.Utc
  readonly tradeId: string
}

export const encodeTradeCursor = (c: TradeCursor): string =>
  Buffer.from(JSON.stringify([c.executedAt.epochMillis, c.tradeId])).toString("base64url")

/** None when the cursor is not one `encodeTradeCursor` made (the HTTP layer answers 400). */
export const decodeTradeCursor = (cursor: string): Option.Option<TradeCursor> => {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    if (!Array.isArray(value) || value.length !== 2) return Option.none()
    const [millis, tradeId] = value as [unknown, unknown]
    if (typeof millis !== "number" || !Number.isSafeInteger(millis) || typeof tradeId !== "string") return Option.none()
    return Option.map(DateTime.make(millis), (executedAt) => ({ executedAt, tradeId }))
  } catch {
    return Option.none()
  }
}

/** Rows per page: at least one. */
export const pageSize = (query: TradeQuery) => Math.max(1, Math.floor(query.limit))

/** Newest first: executedAt, then tradeId, both descending. */
export const newestFirst = (a: TradeCursor, b: TradeCursor): number =>
  b.executedAt.epochMillis - a.executedAt.epochMillis || (a.tradeId < b.tradeId ? 1 : a.tradeId > b.tradeId ? -1 : 0)

/** A page from up to `pageSize + 1` rows in order: the extra row only says there is more. */
export const tradePage = (rows: ReadonlyArray<TradeRow>, query: TradeQuery) => {
  const size = pageSize(query)
  const items = rows.slice(0, size)
  const last = items[items.length - 1]
  return {
    items,
    nextCursor: rows.length > size && last !== undefined ? Option.some(encodeTradeCursor(last)) : Option.none<string>()
  }
}

/** Fixed-point text of an exact decimal, with no digits lost ("1500", "-0.00125"). */
export const exactText = (x: BigDecimal.BigDecimal): string => {
  const n = BigDecimal.normalize(x)
  if (n.scale <= 0) return (n.value * 10n ** BigInt(-n.scale)).toString()
  const negative = n.value < 0n
  const digits = (negative ? -n.value : n.value).toString().padStart(n.scale + 1, "0")
  return `${negative ? "-" : ""}${digits.slice(0, digits.length - n.scale)}.${digits.slice(digits.length - n.scale)}`
}
