import { type BigDecimal, Context, type DateTime, type Effect, type Option, Schema, type Stream } from "effect"
import type { Bar, PriceRow, ReadModelUnavailable, TradeRow } from "./ReadModel.js"

/**
 * The projections, each with its own checkpoint and tables. `portfolio` keeps the latest prices
 * too: it marks positions with them, so a mark and the positions marked with it never disagree.
 */
export const ProjectionName = Schema.Literal("portfolio", "trades", "bars")
export type ProjectionName = typeof ProjectionName.Type
export const projectionNames: ReadonlyArray<ProjectionName> = ProjectionName.literals

/** An account's cash as the portfolio projection keeps it: exact, so the next event folds onto it. */
export interface AccountRecord {
  readonly accountId: string
  readonly cash: BigDecimal.BigDecimal
  readonly realizedPnl: BigDecimal.BigDecimal
  /** Cash plus the market value of every position (at cost where unpriced), exact. */
  readonly equity: BigDecimal.BigDecimal
  /** Global position of the last event that changed this account's rows. */
  readonly asOfPosition: number
  readonly lastUpdated: DateTime.Utc
}

/** A `portfolio_positions` row: the exact state of the position plus its display columns. */
export interface PositionRecord {
  readonly accountId: string
  readonly symbol: string
  /** Exact: the decider accepts quantities of at most 2 decimals, so DECIMAL(15,2) holds them. */
  readonly quantity: BigDecimal.BigDecimal
  readonly costBasis: BigDecimal.BigDecimal
  readonly realizedPnl: BigDecimal.BigDecimal
  /** Display: average cost rounded half-even at 4 dp. */
  readonly avgCost: BigDecimal.BigDecimal
  /** The latest price the position was marked at (exact); none before the symbol's first tick. */
  readonly marketPrice: Option.Option<BigDecimal.BigDecimal>
  /** Display: quantity × price rounded half-even at 2 dp. */
  readonly marketValue: Option.Option<BigDecimal.BigDecimal>
  /** Display: market value − cost basis rounded half-even at 2 dp. */
  readonly unrealizedPnl: Option.Option<BigDecimal.BigDecimal>
  readonly lastUpdated: DateTime.Utc
}

/** End-of-day cash and equity of an account (exact); `date` is the UTC day, YYYY-MM-DD. */
export interface BalanceRecord {
  readonly accountId: string
  readonly date: string
  readonly cash: BigDecimal.BigDecimal
  readonly equity: BigDecimal.BigDecimal
}

/** What one batch writes: upserts by primary key (trades are inserted once; a trade already there is kept). */
export interface ReadModelChanges {
  readonly accounts?: ReadonlyArray<AccountRecord>
  readonly positions?: ReadonlyArray<PositionRecord>
  /** Positions the portfolio no longer shows (flat, nothing realized). */
  readonly removedPositions?: ReadonlyArray<{ readonly accountId: string; readonly symbol: string }>
  readonly balances?: ReadonlyArray<BalanceRecord>
  readonly prices?: ReadonlyArray<PriceRow>
  readonly trades?: ReadonlyArray<TradeRow>
  readonly bars?: ReadonlyArray<Bar>
}

/** Another runner (another process, or a rebuild) moved the checkpoint first: reload and go on from there. */
export class CheckpointMoved extends Schema.TaggedError<CheckpointMoved>()("CheckpointMoved", {
  projection: ProjectionName,
  expected: Schema.Number
}) {}

/** One projection's share of a commit: its checkpoint moves from `expected` to `next` and its changes are written. */
export interface ProjectionCommit {
  readonly projection: ProjectionName
  readonly expected: number
  readonly next: number
  readonly changes: ReadModelChanges
}

/** The write side of the read models: what the projection runner loads, and its one-transaction commit. */
export class ReadModelStore extends Context.Tag("ledgerline/ReadModelStore")<ReadModelStore, {
  /** The last global position the projection applied (0 before any). */
  readonly checkpoint: (projection: ProjectionName) => Effect.Effect<number, ReadModelUnavailable>
  /**
   * In one transaction, for every projection in `commits` (each at most once): moves its
   * checkpoint from `expected` to `next` and writes its changes. When any checkpoint is no longer
   * at its `expected`, nothing is written and it fails with CheckpointMoved (the first such one).
   */
  readonly commit: (commits: ReadonlyArray<ProjectionCommit>) => Effect.Effect<void, CheckpointMoved | ReadModelUnavailable>
  /** Empties the projection's tables and sets its checkpoint to 0, in one transaction. */
  readonly reset: (projection: ProjectionName) => Effect.Effect<void, ReadModelUnavailable>
  /** The stored accounts among `accountIds`, each once, with every position it has held. */
  readonly loadAccounts: (accountIds: ReadonlyArray<string>) => Effect.Effect<
    ReadonlyArray<{ readonly account: AccountRecord; readonly positions: ReadonlyArray<PositionRecord> }>,
    ReadModelUnavailable
  >
  /** Accounts with a position row (possibly flat) in any of `symbols`. */
  readonly holders: (symbols: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<string>, ReadModelUnavailable>
  readonly loadPrices: (symbols: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<PriceRow>, ReadModelUnavailable>
  /** The stored bars among `keys` (symbol and minute). */
  readonly loadBars: (
    keys: ReadonlyArray<{ readonly symbol: string; readonly minute: DateTime.Utc }>
  ) => Effect.Effect<ReadonlyArray<Bar>, ReadModelUnavailable>
  /** Every account with a portfolio or a trade in the read models. */
  readonly accounts: Effect.Effect<ReadonlyArray<string>, ReadModelUnavailable>
  /** Emits after each commit or reset this process makes (and once on subscription): wake-ups for waiters. */
  readonly commits: Stream.Stream<unknown>
}>() {}
