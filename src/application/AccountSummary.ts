import { BigDecimal, type DateTime, Effect, Option } from "effect"
import { type PortfolioRow, ReadModel } from "./ports/ReadModel.js"

/**
 * An account at a glance, from the read models: what a dashboard polls for each account. The
 * totals are sums of the portfolio's lines as shown (each already half-even at 2 dp), so they foot.
 */
export interface AccountSummary {
  readonly accountId: string
  readonly cash: BigDecimal.BigDecimal
  readonly equity: BigDecimal.BigDecimal
  readonly realizedPnl: BigDecimal.BigDecimal
  /** Of the positions with a market price; none when no open position is priced. */
  readonly unrealizedPnl: Option.Option<BigDecimal.BigDecimal>
  /** Positions with a quantity (closed ones that realized P&L are not counted). */
  readonly openPositions: number
  /** Global position of the last event projected into the account: a live update above it is newer. */
  readonly asOfPosition: number
  readonly lastUpdated: DateTime.Utc
}

export const summarize = (portfolio: PortfolioRow): AccountSummary => {
  const priced = portfolio.positions.flatMap((p) => Option.toArray(p.unrealizedPnl))
  return {
    accountId: portfolio.accountId,
    cash: portfolio.cash,
    equity: portfolio.equity,
    realizedPnl: BigDecimal.sumAll(portfolio.positions.map((p) => p.realizedPnl)),
    unrealizedPnl: priced.length === 0 ? Option.none() : Option.some(BigDecimal.sumAll(priced)),
    openPositions: portfolio.positions.filter((p) => !BigDecimal.isZero(p.quantity)).length,
    asOfPosition: portfolio.asOfPosition,
    lastUpdated: portfolio.lastUpdated
  }
}

/**
 * The account's summary, none before the read model has it. Read through `ReadModel.portfolio`,
 * so with the hot cache on it is served from the portfolio's entry, fenced and invalidated with it
 * (docs/adr/0012): one entry per account, not a second copy a commit would also have to fence.
 */
export const accountSummary = (accountId: string) =>
  Effect.flatMap(ReadModel, (readModel) => readModel.portfolio(accountId)).pipe(
    Effect.map(Option.map(summarize)),
    Effect.withSpan("AccountSummary.read", { attributes: { accountId } })
  )
