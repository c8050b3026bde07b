import { type BigDecimal, DateTime, Effect, HashMap, Option } from "effect"
import type { AccountEvent } from "../../domain/AccountEvents.js"
import { CASH_SCALE, roundHalfEven } from "../../domain/Decimal.js"
import { Symbol } from "../../domain/Ids.js"
import type { PriceUpdated } from "../../domain/Market.js"
import * as Portfolio from "../../domain/Portfolio.js"
import { Accounts, decodeEvents, Markets } from "../Aggregate.js"
import type { RecordedEvent } from "../ports/EventStore.js"
import type { PriceRow } from "../ports/ReadModel.js"
import {
  type AccountRecord, type BalanceRecord, type PositionRecord, type ReadModelChanges, ReadModelStore
} from "../ports/ReadModelStore.js"

const ACCOUNT_PREFIX = `${Accounts.name}-`
const MARKET_PREFIX = `${Markets.name}-`
/** The account events Portfolio.evolve does not ignore. */
const PORTFOLIO_EVENTS = new Set(["AccountOpened", "FundsDeposited", "FundsWithdrawn", "TradeExecuted"])

export const handles = (e: RecordedEvent): boolean =>
  e.aggregateId.startsWith(ACCOUNT_PREFIX) ? PORTFOLIO_EVENTS.has(e.type) : e.aggregateId.startsWith(MARKET_PREFIX) && e.type === "PriceUpdated"

/** The UTC day of an instant, YYYY-MM-DD. */
export const utcDay = (t: DateTime.Utc): string => DateTime.formatIso(t).slice(0, 10)

type Item =
  | { readonly _tag: "Account"; readonly recorded: RecordedEvent; readonly event: AccountEvent }
  | { readonly _tag: "Tick"; readonly recorded: RecordedEvent; readonly tick: PriceUpdated }

/** One account while a batch folds: the portfolio, and what changed. */
interface Working {
  readonly accountId: string
  portfolio: Portfolio.Portfolio
  asOfPosition: number
  lastUpdated: DateTime.Utc
  readonly positionUpdated: Map<string, DateTime.Utc>
  readonly changedSymbols: Set<string>
  changed: boolean
}

/** Rebuilds the domain's portfolio from its exact rows: the next event folds onto the same state. */
const restore = (account: AccountRecord, positions: ReadonlyArray<PositionRecord>): Working => ({
  accountId: account.accountId,
  portfolio: new Portfolio.Portfolio({
    cash: account.cash,
    realizedPnl: account.realizedPnl,
    positions: HashMap.fromIterable(positions.map((p) => [
      Symbol.make(p.symbol),
      new Portfolio.Position({ quantity: p.quantity, costBasis: p.costBasis, realizedPnl: p.realizedPnl }, true)
    ] as const))
  }, true),
  asOfPosition: account.asOfPosition,
  lastUpdated: account.lastUpdated,
  positionUpdated: new Map(positions.map((p) => [p.symbol, p.lastUpdated])),
  changedSymbols: new Set(),
  changed: false
})

const decode = (events: ReadonlyArray<RecordedEvent>) =>
  Effect.forEach(events, (recorded) =>
    recorded.aggregateId.startsWith(ACCOUNT_PREFIX)
      ? Effect.map(decodeEvents(Accounts, [recorded]), ([event]): Item => ({ _tag: "Account", recorded, event: event! }))
      : Effect.map(decodeEvents(Markets, [recorded]), ([event]): Item | undefined =>
        event?._tag === "PriceUpdated" ? { _tag: "Tick", recorded, tick: event } : undefined))

/**
 * The portfolio projection: cash, positions marked at the latest price, end-of-day balances and
 * the latest prices. Accounts fold with `Portfolio.evolve` and are valued with
 * `Portfolio.valuation`, the domain's own functions; a tick re-marks every position in its symbol.
 * `events` are the batch, after the checkpoint, in log order.
 */
export const project = (events: ReadonlyArray<RecordedEvent>) =>
  Effect.gen(function*() {
    const store = yield* ReadModelStore
    const items = (yield* decode(events.filter(handles))).filter((i): i is Item => i !== undefined)
    const accountIds = new Set<string>()
    const traded = new Set<string>()
    const ticked = new Set<string>()
    for (const item of items) {
      if (item._tag === "Tick") ticked.add(item.tick.symbol)
      else {
        accountIds.add(item.event.accountId)
        if (item.event._tag === "TradeExecuted") traded.add(item.event.symbol)
      }
    }
    for (const holder of ticked.size === 0 ? [] : yield* store.holders([...ticked])) accountIds.add(holder)

    const working = new Map<string, Working>()
    const holders = new Map<string, Set<string>>() // symbol → accounts with a position row in it
    const hold = (symbol: string, accountId: string, shown: boolean) => {
      const set = holders.get(symbol) ?? new Set<string>()
      if (shown) set.add(accountId)
      else set.delete(accountId)
      holders.set(symbol, set)
    }
    for (const { account, positions } of accountIds.size === 0 ? [] : yield* store.loadAccounts([...accountIds])) {
      working.set(account.accountId, restore(account, positions))
      for (const p of positions) hold(p.symbol, account.accountId, true)
    }

    const marks = new Map<string, PriceRow>()
    const needed = new Set([...traded, ...ticked, ...[...working.values()].flatMap((w) => [...w.positionUpdated.keys()])])
    for (const price of needed.size === 0 ? [] : yield* store.loadPrices([...needed])) marks.set(price.symbol, price)
    const priceOf = (symbol: Symbol) => Option.map(Option.fromNullable(marks.get(symbol)), (m) => m.price)

    const balances = new Map<string, BalanceRecord>()
    const ticks = new Map<string, PriceRow>()
    const touch = (w: Working, recorded: RecordedEvent) => {
      w.changed = true
      w.asOfPosition = recorded.position
      w.lastUpdated = recorded.timestamp
      const { cash, equity } = Portfolio.valuation(w.portfolio, priceOf)
      const date = utcDay(recorded.timestamp)
      balances.set(`${w.accountId}\u0000${date}`, { accountId: w.accountId, date, cash, equity })
    }

    for (const item of items) {
      if (item._tag === "Account") {
        const { event, recorded } = item
        const w = working.get(event.accountId) ?? {
          accountId: event.accountId, portfolio: Portfolio.empty, asOfPosition: 0, lastUpdated: recorded.timestamp,
          positionUpdated: new Map(), changedSymbols: new Set(), changed: false
        }
        working.set(event.accountId, w)
        w.portfolio = Portfolio.evolve(w.portfolio, event)
        if (event._tag === "TradeExecuted") {
          w.changedSymbols.add(event.symbol)
          w.positionUpdated.set(event.symbol, recorded.timestamp)
          const shown = Portfolio.valuation(w.portfolio, priceOf).positions.some((p) => p.symbol === event.symbol)
          hold(event.symbol, event.accountId, shown)
        }
        touch(w, recorded)
      } else {
        const { tick, recorded } = item
        const mark = { symbol: tick.symbol, price: tick.price, at: tick.timestamp }
        marks.set(tick.symbol, mark)
        ticks.set(tick.symbol, mark)
        for (const accountId of holders.get(tick.symbol) ?? []) {
          const w = working.get(accountId)
          if (w === undefined) continue
          w.changedSymbols.add(tick.symbol)
          w.positionUpdated.set(tick.symbol, recorded.timestamp)
          touch(w, recorded)
        }
      }
    }

    const accounts: Array<AccountRecord> = []
    const positions: Array<PositionRecord> = []
    const removedPositions: Array<{ accountId: string; symbol: string }> = []
    for (const w of working.values()) {
      if (!w.changed) continue
      const valued = Portfolio.valuation(w.portfolio, priceOf)
      accounts.push({
        accountId: w.accountId, cash: valued.cash, realizedPnl: w.portfolio.realizedPnl, equity: valued.equity,
        asOfPosition: w.asOfPosition, lastUpdated: w.lastUpdated
      })
      for (const symbol of w.changedSymbols) {
        const p = valued.positions.find((v) => v.symbol === symbol)
        if (p === undefined) {
          removedPositions.push({ accountId: w.accountId, symbol })
          continue
        }
        positions.push({
          accountId: w.accountId, symbol, quantity: p.quantity, costBasis: p.costBasis, realizedPnl: p.realizedPnl,
          avgCost: p.averageCost,
          marketPrice: p.marketPrice,
          marketValue: Option.map(p.marketValue, (x: BigDecimal.BigDecimal) => roundHalfEven(x, CASH_SCALE)),
          unrealizedPnl: Option.map(p.unrealizedPnl, (x: BigDecimal.BigDecimal) => roundHalfEven(x, CASH_SCALE)),
          lastUpdated: w.positionUpdated.get(symbol) ?? w.lastUpdated
        })
      }
    }
    return {
      accounts, positions, removedPositions, balances: [...balances.values()], prices: [...ticks.values()]
    } satisfies ReadModelChanges
  })
