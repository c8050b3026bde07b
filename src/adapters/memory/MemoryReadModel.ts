import { Context, DateTime, Effect, Layer, Option, SubscriptionRef } from "effect"
import {
  balancePoint, decodeTradeCursor, newestFirst, pageSize, portfolioRow, tradePage
} from "../../application/projections/ReadModelRows.js"
import { type Bar, type PriceRow, ReadModel, type TradeRow } from "../../application/ports/ReadModel.js"
import {
  type AccountRecord, type BalanceRecord, CheckpointMoved, type PositionRecord, type ProjectionName, projectionNames,
  type ReadModelChanges, ReadModelStore
} from "../../application/ports/ReadModelStore.js"

const barKey = (symbol: string, minute: DateTime.Utc) => `${symbol}\u0000${minute.epochMillis}`

/**
 * The read models in memory, for LEDGERLINE_STORE=memory and tests: the same records and answers
 * as the SQL adapter. A commit runs as one synchronous step, so it is atomic.
 */
export const make = Effect.gen(function*() {
  const checkpoints = new Map<ProjectionName, number>(projectionNames.map((name) => [name, 0]))
  const accounts = new Map<string, AccountRecord>()
  const positions = new Map<string, Map<string, PositionRecord>>()
  const balances = new Map<string, Map<string, BalanceRecord>>()
  const prices = new Map<string, PriceRow>()
  const trades = new Map<string, TradeRow>()
  const bars = new Map<string, Bar>()
  const commits = yield* SubscriptionRef.make(0)
  const committed = SubscriptionRef.update(commits, (n) => n + 1)

  const resetTables: Record<ProjectionName, () => void> = {
    portfolio: () => {
      accounts.clear()
      positions.clear()
      balances.clear()
      prices.clear()
    },
    trades: () => trades.clear(),
    bars: () => bars.clear()
  }

  /** Writes one projection's changes (its checkpoint already checked). */
  const write = (changes: ReadModelChanges) => {
    for (const a of changes.accounts ?? []) accounts.set(a.accountId, a)
    for (const p of changes.positions ?? []) {
      const held = positions.get(p.accountId) ?? new Map<string, PositionRecord>()
      held.set(p.symbol, p)
      positions.set(p.accountId, held)
    }
    for (const p of changes.removedPositions ?? []) positions.get(p.accountId)?.delete(p.symbol)
    for (const b of changes.balances ?? []) {
      const days = balances.get(b.accountId) ?? new Map<string, BalanceRecord>()
      days.set(b.date, b)
      balances.set(b.accountId, days)
    }
    for (const p of changes.prices ?? []) prices.set(p.symbol, p)
    for (const t of changes.trades ?? []) if (!trades.has(t.tradeId)) trades.set(t.tradeId, t)
    for (const b of changes.bars ?? []) bars.set(barKey(b.symbol, b.minute), b)
  }

  const store = ReadModelStore.of({
    checkpoint: (projection) => Effect.sync(() => checkpoints.get(projection) ?? 0),
    commit: (batch) =>
      Effect.suspend(() => {
        const lost = batch.find((c) => (checkpoints.get(c.projection) ?? 0) !== c.expected)
        if (lost !== undefined) return Effect.fail(new CheckpointMoved({ projection: lost.projection, expected: lost.expected }))
        for (const c of batch) {
          checkpoints.set(c.projection, c.next)
          write(c.changes)
        }
        return committed
      }),
    reset: (projection) =>
      Effect.suspend(() => {
        resetTables[projection]()
        checkpoints.set(projection, 0)
        return committed
      }),
    loadAccounts: (ids) =>
      Effect.sync(() =>
        [...new Set(ids)].flatMap((id) => {
          const account = accounts.get(id)
          return account === undefined ? [] : [{ account, positions: [...(positions.get(id)?.values() ?? [])] }]
        })),
    holders: (symbols) =>
      Effect.sync(() => {
        const wanted = new Set(symbols)
        return [...positions].filter(([, held]) => [...held.keys()].some((s) => wanted.has(s))).map(([id]) => id)
      }),
    loadPrices: (symbols) => Effect.sync(() => symbols.flatMap((s) => prices.get(s) ?? [])),
    loadBars: (keys) => Effect.sync(() => keys.flatMap((k) => bars.get(barKey(k.symbol, k.minute)) ?? [])),
    accounts: Effect.sync(() => [...new Set([...accounts.keys(), ...[...trades.values()].map((t) => t.accountId)])]),
    commits: commits.changes
  })

  const query = ReadModel.of({
    position: Effect.sync(() => Math.min(...projectionNames.map((name) => checkpoints.get(name) ?? 0))),
    portfolio: (accountId) =>
      Effect.sync(() =>
        Option.map(Option.fromNullable(accounts.get(accountId)), (account) =>
          portfolioRow(account, [...(positions.get(accountId)?.values() ?? [])]))),
    trades: (accountId, query) =>
      Effect.suspend(() => {
        const cursor = query.cursor === undefined ? Option.none() : decodeTradeCursor(query.cursor)
        if (query.cursor !== undefined && Option.isNone(cursor)) return Effect.dieMessage(`malformed trade cursor: ${query.cursor}`)
        const rows = [...trades.values()]
          .filter((t) =>
            t.accountId === accountId &&
            (query.symbol === undefined || t.symbol === query.symbol) &&
            (query.from === undefined || DateTime.greaterThanOrEqualTo(t.executedAt, query.from)) &&
            (query.to === undefined || DateTime.lessThan(t.executedAt, query.to)) &&
            (Option.isNone(cursor) || newestFirst(cursor.value, t) < 0))
          .sort(newestFirst)
          .slice(0, pageSize(query) + 1)
        return Effect.succeed(tradePage(rows, query))
      }),
    balanceHistory: (accountId, from, to) =>
      Effect.sync(() =>
        [...(balances.get(accountId)?.values() ?? [])]
          .filter((b) => b.date >= from && b.date <= to)
          .sort((a, b) => (a.date < b.date ? -1 : 1))
          .map(balancePoint)),
    latestPrice: (symbol) => Effect.sync(() => Option.fromNullable(prices.get(symbol))),
    bars: (symbol, from, to) =>
      Effect.sync(() =>
        [...bars.values()]
          .filter((b) => b.symbol === symbol && DateTime.greaterThanOrEqualTo(b.minute, from) && DateTime.lessThan(b.minute, to))
          .sort((a, b) => a.minute.epochMillis - b.minute.epochMillis))
  })

  return Context.make(ReadModel, query).pipe(Context.add(ReadModelStore, store))
})

/** ReadModel (queries) and ReadModelStore (the projection runner's side), in memory. */
export const layer = Layer.effectContext(make)
