import { BigDecimal, DateTime, Duration, Effect, Option } from "effect"
import { PRICE_SCALE, display } from "../domain/Decimal.js"
import { AccountId } from "../domain/Ids.js"
import * as Portfolio from "../domain/Portfolio.js"
import { Accounts, decodeEvents, streamId } from "./Aggregate.js"
import { exactText } from "./projections/ReadModelRows.js"
import { waitFor } from "./Projections.js"
import { DEFAULT_PAGE_SIZE, EventStore, type RecordedEvent } from "./ports/EventStore.js"
import { ReadModel, type TradeRow } from "./ports/ReadModel.js"
import { ReadModelStore } from "./ports/ReadModelStore.js"
import { getAccount } from "./TradingAccounts.js"

export type DifferenceKind =
  | "PORTFOLIO_MISSING" | "PORTFOLIO_UNEXPECTED" | "CASH" | "REALIZED_PNL"
  | "POSITION_MISSING" | "POSITION_UNEXPECTED" | "QUANTITY" | "AVG_COST"
  | "TRADE_MISSING" | "TRADE_UNEXPECTED" | "TRADE_MISMATCH" | "BEHIND"

/** One way the read models disagree with the fold of the log. */
export interface Difference {
  readonly accountId: string
  readonly kind: DifferenceKind
  /** What differs: "cash", a symbol, a trade id (and its field). */
  readonly subject: string
  /** From the event store ("none" when there is nothing). */
  readonly expected: string
  /** In the read model ("none" when there is nothing). */
  readonly actual: string
}

export interface ConsistencyReport {
  readonly accounts: number
  /** The read models' position when the check ended. */
  readonly position: number
  readonly differences: ReadonlyArray<Difference>
}

const NONE = "none"
const ATTEMPTS = 3

const accountsInLog = Effect.gen(function*() {
  const log = yield* EventStore
  const ids = new Set<string>()
  const prefix = `${Accounts.name}-`
  let after: string | undefined
  for (;;) {
    const page = yield* log.getEventsByType("AccountOpened", { limit: DEFAULT_PAGE_SIZE, ...(after === undefined ? {} : { after }) })
    for (const e of page.events) if (e.aggregateId.startsWith(prefix)) ids.add(e.aggregateId.slice(prefix.length))
    if (Option.isNone(page.cursor)) return ids
    after = page.cursor.value
  }
})

const streamOf = (accountId: string) =>
  Effect.gen(function*() {
    const log = yield* EventStore
    const events: Array<RecordedEvent> = []
    for (;;) {
      const page = yield* log.getEvents(streamId(Accounts, accountId), { fromVersion: events.length + 1, limit: DEFAULT_PAGE_SIZE })
      events.push(...page)
      if (page.length < DEFAULT_PAGE_SIZE) return events
    }
  })

const tradesIn = (accountId: string) =>
  Effect.gen(function*() {
    const readModel = yield* ReadModel
    const rows: Array<TradeRow> = []
    let cursor: string | undefined
    for (;;) {
      const page = yield* readModel.trades(accountId, { limit: 500, ...(cursor === undefined ? {} : { cursor }) })
      rows.push(...page.items)
      if (Option.isNone(page.nextCursor)) return rows
      cursor = page.nextCursor.value
    }
  })

const differ = (accountId: string, kind: DifferenceKind, subject: string, expected: string, actual: string): Difference =>
  ({ accountId, kind, subject, expected, actual })

const compareDecimal = (
  out: Array<Difference>, accountId: string, kind: DifferenceKind, subject: string,
  expected: BigDecimal.BigDecimal, actual: BigDecimal.BigDecimal
) => {
  if (!BigDecimal.equals(expected, actual)) out.push(differ(accountId, kind, subject, exactText(expected), exactText(actual)))
}

/** Read-model rows of an account the log does not know. */
const unexpected = (accountId: string) =>
  Effect.gen(function*() {
    const store = yield* ReadModelStore
    const out: Array<Difference> = []
    for (const { account } of yield* store.loadAccounts([accountId])) {
      out.push(differ(accountId, "PORTFOLIO_UNEXPECTED", "portfolio", NONE, `cash ${exactText(account.cash)}`))
    }
    for (const t of yield* tradesIn(accountId)) out.push(differ(accountId, "TRADE_UNEXPECTED", t.tradeId, NONE, describeTrade(t)))
    return out
  })

const describeTrade = (t: TradeRow) =>
  `${t.side} ${exactText(t.quantity)} ${t.symbol} @ ${exactText(t.price)} at ${DateTime.formatIso(t.executedAt)}`

/** The account refolded from the log against its read-model rows, or undefined when a command landed meanwhile. */
const compareOnce = (accountId: string) =>
  Effect.gen(function*() {
    const readModel = yield* ReadModel
    const store = yield* ReadModelStore
    const stream = yield* streamOf(accountId)
    const { state, version } = yield* getAccount(AccountId.make(accountId))
    if (version !== stream.length) return undefined
    const last = stream[stream.length - 1]?.position ?? 0
    const projected = yield* readModel.position
    if (projected < last) {
      return [differ(accountId, "BEHIND", "position", String(last), String(projected))]
    }
    const out: Array<Difference> = []
    const [stored] = yield* store.loadAccounts([accountId])
    if (state._tag !== "Opened") {
      if (stored !== undefined) out.push(differ(accountId, "PORTFOLIO_UNEXPECTED", "portfolio", NONE, `cash ${exactText(stored.account.cash)}`))
    } else if (stored === undefined) {
      out.push(differ(accountId, "PORTFOLIO_MISSING", "portfolio", `cash ${exactText(state.portfolio.cash)}`, NONE))
    } else {
      const portfolio = state.portfolio
      compareDecimal(out, accountId, "CASH", "cash", portfolio.cash, stored.account.cash)
      compareDecimal(out, accountId, "REALIZED_PNL", "realized P&L", portfolio.realizedPnl, stored.account.realizedPnl)
      // the positions the domain shows are the ones the read model keeps
      const expected = new Map(Portfolio.valuation(portfolio, () => Option.none()).positions.map((p) => [p.symbol as string, p]))
      const actual = new Map(stored.positions.map((p) => [p.symbol, p]))
      for (const [symbol, p] of expected) {
        const row = actual.get(symbol)
        if (row === undefined) {
          out.push(differ(accountId, "POSITION_MISSING", symbol, `quantity ${exactText(p.quantity)}`, NONE))
          continue
        }
        compareDecimal(out, accountId, "QUANTITY", `${symbol} quantity`, p.quantity, row.quantity)
        const avgCost = p.averageCost
        if (!BigDecimal.equals(avgCost, row.avgCost)) {
          out.push(differ(accountId, "AVG_COST", `${symbol} avg cost`, display(avgCost, PRICE_SCALE), display(row.avgCost, PRICE_SCALE)))
        }
        compareDecimal(out, accountId, "REALIZED_PNL", `${symbol} realized P&L`, p.realizedPnl, row.realizedPnl)
      }
      for (const [symbol, row] of actual) {
        if (!expected.has(symbol)) out.push(differ(accountId, "POSITION_UNEXPECTED", symbol, NONE, `quantity ${exactText(row.quantity)}`))
      }
    }
    const executed = (yield* decodeEvents(Accounts, stream.filter((e) => e.type === "TradeExecuted")))
      .flatMap((e) => e._tag === "TradeExecuted" ? [e] : [])
    const rows = new Map((yield* tradesIn(accountId)).map((t) => [t.tradeId, t]))
    for (const e of executed) {
      const row = rows.get(e.tradeId)
      rows.delete(e.tradeId)
      const want: TradeRow = {
        tradeId: e.tradeId, orderId: e.orderId, accountId, symbol: e.symbol, side: e.tradeType, quantity: e.quantity, price: e.price,
        executedAt: e.executedAt
      }
      if (row === undefined) {
        out.push(differ(accountId, "TRADE_MISSING", e.tradeId, describeTrade(want), NONE))
        continue
      }
      const fields: ReadonlyArray<readonly [string, boolean]> = [
        ["orderId", row.orderId === want.orderId],
        ["symbol", row.symbol === want.symbol],
        ["side", row.side === want.side],
        ["quantity", BigDecimal.equals(row.quantity, want.quantity)],
        ["price", BigDecimal.equals(row.price, want.price)],
        ["executedAt", row.executedAt.epochMillis === want.executedAt.epochMillis]
      ]
      for (const [field, same] of fields) {
        if (!same) out.push(differ(accountId, "TRADE_MISMATCH", `${e.tradeId} ${field}`, describeTrade(want), describeTrade(row)))
      }
    }
    for (const row of rows.values()) out.push(differ(accountId, "TRADE_UNEXPECTED", row.tradeId, NONE, describeTrade(row)))
    // differences that come from a command landing after the stream was read are not differences
    if (out.length > 0) {
      const log = yield* EventStore
      const more = yield* log.getEvents(streamId(Accounts, accountId), { fromVersion: version + 1, limit: 1 })
      if (more.length > 0) return undefined
    }
    return out
  })

/**
 * Refolds every account from the event store (`TradingAccounts.getAccount`, snapshots and all) and
 * compares it with the read models: cash, realized P&L, positions (quantity, average cost at its
 * display scale, realized P&L) and trades. Returns every difference. Accounts come from the log
 * (AccountOpened) and from the read models, so rows of an account the log never had are listed too.
 * First waits up to `catchUpTimeout` for the projections to reach the head of the log; an account
 * the read models have not reached yet is reported as BEHIND rather than compared.
 */
export const checkConsistency = (options: { readonly catchUpTimeout?: Duration.DurationInput } = {}) =>
  Effect.gen(function*() {
    const log = yield* EventStore
    const readModel = yield* ReadModel
    const store = yield* ReadModelStore
    const head = Option.match(yield* log.head, { onNone: () => 0, onSome: (h) => h.position })
    yield* waitFor(head, options.catchUpTimeout ?? Duration.seconds(5)).pipe(Effect.catchTag("ProjectionTimeout", () => Effect.void))
    const inLog = yield* accountsInLog
    const ids = [...new Set([...inLog, ...(yield* store.accounts)])].sort()
    const differences: Array<Difference> = []
    for (const accountId of ids) {
      if (!inLog.has(accountId)) {
        differences.push(...(yield* unexpected(accountId)))
        continue
      }
      let found: ReadonlyArray<Difference> | undefined
      for (let attempt = 0; attempt < ATTEMPTS && found === undefined; attempt++) found = yield* compareOnce(accountId)
      if (found === undefined) differences.push(differ(accountId, "BEHIND", "stream", "the account kept changing", "not compared"))
      else differences.push(...found)
    }
    return { accounts: ids.length, position: yield* readModel.position, differences } satisfies ConsistencyReport
  }).pipe(Effect.withSpan("ConsistencyCheck.check"))
