import { BigDecimal, DateTime, Effect, Option, Schema } from "effect"
import { fold } from "../domain/Decider.js"
import type { AccountId, Symbol } from "../domain/Ids.js"
import type { MarketState } from "../domain/Market.js"
import * as Portfolio from "../domain/Portfolio.js"
import { type Aggregate, Accounts, decodeEvents, Markets, streamId } from "./Aggregate.js"
import type { Loaded } from "./CommandHandler.js"
import { DEFAULT_PAGE_SIZE, EventStore } from "./ports/EventStore.js"
import type { BalancePoint } from "./ports/ReadModel.js"

/**
 * An aggregate's state at several instants, from one paged pass over its stream.
 *
 * An event is visible at `at` when it and every event before it in the stream are stamped (envelope
 * timestamp) at or before `at`; each answer is the fold of that prefix with the decider's evolve,
 * so it is a state the aggregate really had, at `version`. The command handler stamps an append
 * after loading the version it appends to, so within one service clock the stamps never decrease
 * along a stream and this is exactly "every event stamped at or before `at`". Should a clock step
 * back (or two hosts disagree), an event stamped earlier than one before it is held back with the
 * rest of the stream, never folded out of order. Because the visible events are a prefix, reading
 * stops at the first event stamped after the latest instant: the cost is the events before it, in
 * pages of `pageSize`, not the whole stream.
 */
export const statesAt = <C, S, E extends { readonly _tag: string }, R>(aggregate: Aggregate<C, S, E, R>) =>
  (id: string, instants: ReadonlyArray<DateTime.Utc>, pageSize = DEFAULT_PAGE_SIZE) =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const stream = streamId(aggregate, id)
      const replay = fold(aggregate.decider)
      const order = instants.map((at, index) => ({ at, index })).sort((a, b) => DateTime.Order(a.at, b.at))
      const answers = new Array<Loaded<S>>(instants.length)
      let state = aggregate.decider.initialState
      let version = 0
      let next = 0 // the earliest instant (in `order`) still to answer
      let latest: DateTime.Utc | undefined // the latest stamp read so far
      while (next < order.length) {
        const page = yield* store.getEvents(stream, { fromVersion: version + 1, limit: pageSize })
        // stamps[k]: the latest stamp up to and including page[k], non-decreasing by construction
        const stamps = page.map((e) => (latest = latest === undefined ? e.timestamp : DateTime.max(latest, e.timestamp)))
        const cut = (at: DateTime.Utc, from: number) => {
          let k = from
          while (k < stamps.length && DateTime.lessThanOrEqualTo(stamps[k]!, at)) k++
          return k
        }
        // decode only what the latest instant can see
        const events = yield* decodeEvents(aggregate, page.slice(0, cut(order[order.length - 1]!.at, 0)))
        let folded = 0
        for (; next < order.length; next++) {
          const k = cut(order[next]!.at, folded)
          state = replay(events.slice(folded, k), state)
          version += k - folded
          folded = k
          if (k === page.length) break // this instant may see further pages
          answers[order[next]!.index] = { state, version }
        }
        if (page.length < pageSize) break
      }
      for (; next < order.length; next++) answers[order[next]!.index] = { state, version }
      return answers as ReadonlyArray<Loaded<S>>
    })

/** An aggregate's state at one instant: `statesAt` with a single instant. */
export const stateAt = <C, S, E extends { readonly _tag: string }, R>(aggregate: Aggregate<C, S, E, R>) =>
  (id: string, at: DateTime.Utc) => Effect.map(statesAt(aggregate)(id, [at]), (answers) => answers[0]!)

/** The price a position was marked at: the market's last accepted price as of the instant. */
export interface PriceAsOf {
  readonly symbol: Symbol
  readonly price: Option.Option<BigDecimal.BigDecimal>
  /** The feed's time of that price (the PriceUpdated's own timestamp). */
  readonly feedTime: Option.Option<DateTime.Utc>
}

export interface PortfolioAsOf {
  readonly accountId: AccountId
  readonly asOf: DateTime.Utc
  /** The account's version at `asOf`: how many of its events the answer folds. */
  readonly version: number
  readonly valuation: Portfolio.Valuation
  /** The price used for each position in the valuation, by symbol. */
  readonly prices: ReadonlyArray<PriceAsOf>
}

/** The symbols `Portfolio.valuation` lists and therefore needs a price for. */
const valuedSymbols = (portfolio: Portfolio.Portfolio): Array<Symbol> =>
  Array.from(portfolio.positions).filter(([, p]) => !BigDecimal.isZero(p.quantity) || !BigDecimal.isZero(p.realizedPnl))
    .map(([symbol]) => symbol)

/** Each market's state at each instant, one pass per market stream, a few streams at a time. */
const marketsAt = (symbols: Iterable<Symbol>, instants: ReadonlyArray<DateTime.Utc>) =>
  Effect.map(
    Effect.forEach(symbols, (symbol) => Effect.map(statesAt(Markets)(symbol, instants), (states) => [symbol, states] as const), {
      concurrency: 4
    }),
    (entries) => new Map<Symbol, ReadonlyArray<Loaded<MarketState>>>(entries)
  )

const priceAt = (markets: ReadonlyMap<Symbol, ReadonlyArray<Loaded<MarketState>>>, i: number) => (symbol: Symbol) =>
  Option.flatMap(Option.fromNullable(markets.get(symbol)?.[i]), (m) => m.state.lastPrice)

/**
 * "What did this account hold at 14:32?": the account folded up to `at` (see `statesAt`), every
 * position marked at its market's last accepted price as of `at` (the market stream folded up to
 * the same instant, so a later tick cannot leak in) and valued with `Portfolio.valuation`. None
 * when the account had no event by then.
 */
export const portfolioAsOf = Effect.fn("AsOf.portfolio")(function*(accountId: AccountId, at: DateTime.Utc) {
  const account = yield* stateAt(Accounts)(accountId, at)
  if (account.state._tag !== "Opened") return Option.none<PortfolioAsOf>()
  const portfolio = account.state.portfolio
  const symbols = valuedSymbols(portfolio)
  const markets = yield* marketsAt(symbols, [at])
  const prices = symbols.sort().map((symbol): PriceAsOf => {
    const market = Option.fromNullable(markets.get(symbol)?.[0])
    return {
      symbol,
      price: Option.flatMap(market, (m) => m.state.lastPrice),
      feedTime: Option.flatMap(market, (m) => m.state.lastUpdated)
    }
  })
  return Option.some<PortfolioAsOf>({
    accountId, asOf: at, version: account.version, valuation: Portfolio.valuation(portfolio, priceAt(markets, 0)), prices
  })
})

export class InvalidDateRange extends Schema.TaggedError<InvalidDateRange>()("InvalidDateRange", {
  fromDate: Schema.String,
  toDate: Schema.String,
  problem: Schema.String
}) {
  get code() { return "INVALID_DATE_RANGE" as const }
  override get message() { return `${this.fromDate}..${this.toDate}: ${this.problem}` }
}

/** The UTC midnight starting a YYYY-MM-DD day; none for anything else (including 2026-02-30). */
const dayStart = (day: string): Option.Option<DateTime.Utc> =>
  /^\d{4}-\d{2}-\d{2}$/.test(day)
    ? Option.filter(DateTime.make(`${day}T00:00:00Z`), (start) => DateTime.formatIsoDateUtc(start) === day)
    : Option.none()

/**
 * End-of-day cash and equity of an account for each UTC day from `fromDate` to `toDate`
 * (YYYY-MM-DD, inclusive), by folding the event store: the authoritative, slow path a projected
 * balance history is checked against. A day's figures are the state as of its last millisecond
 * (`portfolioAsOf` semantics), positions marked at that day's last accepted prices. Days before the
 * account opened and days after today (by the Clock) have no point. Figures are exact: round both
 * sides the same way (`Decimal.display`) to compare with a read model that stores display scales.
 * Each stream is read once for the whole range.
 */
export const balanceHistoryFromEvents = Effect.fn("AsOf.balanceHistory")(
  function*(accountId: AccountId, fromDate: string, toDate: string) {
    const invalid = (problem: string) => new InvalidDateRange({ fromDate, toDate, problem })
    const from = yield* Option.match(dayStart(fromDate), { onNone: () => Effect.fail(invalid("fromDate is not a YYYY-MM-DD date")), onSome: Effect.succeed })
    const to = yield* Option.match(dayStart(toDate), { onNone: () => Effect.fail(invalid("toDate is not a YYYY-MM-DD date")), onSome: Effect.succeed })
    if (DateTime.greaterThan(from, to)) return yield* invalid("fromDate is after toDate")
    const store = yield* EventStore
    const [opened] = yield* store.getEvents(streamId(Accounts, accountId), { limit: 1 })
    if (opened === undefined) return [] as ReadonlyArray<BalancePoint>
    // Clip to the account's lifetime, so a wide range costs no more than the days that can have a point.
    const first = DateTime.max(from, DateTime.startOf(opened.timestamp, "day"))
    const last = DateTime.min(to, DateTime.startOf(yield* DateTime.now, "day"))
    const days: Array<DateTime.Utc> = []
    for (let day = first; DateTime.lessThanOrEqualTo(day, last); day = DateTime.add(day, { days: 1 })) days.push(day)
    const ends = days.map((day) => DateTime.subtract(DateTime.add(day, { days: 1 }), { millis: 1 }))
    const accounts = yield* statesAt(Accounts)(accountId, ends)
    const symbols = new Set<Symbol>()
    for (const { state } of accounts) if (state._tag === "Opened") for (const symbol of valuedSymbols(state.portfolio)) symbols.add(symbol)
    const markets = yield* marketsAt(symbols, ends)
    return days.flatMap((day, i): Array<BalancePoint> => {
      const state = accounts[i]!.state
      if (state._tag !== "Opened") return []
      const valuation = Portfolio.valuation(state.portfolio, priceAt(markets, i))
      return [{ date: DateTime.formatIsoDateUtc(day), cash: valuation.cash, equity: valuation.equity }]
    })
  }
)
