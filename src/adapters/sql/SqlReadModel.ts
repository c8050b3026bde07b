import { SqlClient, type SqlError } from "@effect/sql"
import { BigDecimal, Context, DateTime, Effect, Option, SubscriptionRef } from "effect"
import {
  balancePoint, decodeTradeCursor, exactText, pageSize, portfolioRow, tradePage
} from "../../application/projections/ReadModelRows.js"
import { type Bar, type PriceRow, ReadModel, ReadModelUnavailable, type TradeRow } from "../../application/ports/ReadModel.js"
import {
  type AccountRecord, type BalanceRecord, CheckpointMoved, type PositionRecord, type ProjectionCommit, type ProjectionName, projectionNames,
  type ReadModelChanges, ReadModelStore
} from "../../application/ports/ReadModelStore.js"
import { display } from "../../domain/Decimal.js"

/** What differs between the SQL engines for the read models. */
export interface ReadModelDialect {
  /** A timestamp as a bound parameter. */
  readonly timestamp: (t: DateTime.Utc) => Date | number
  /** `balance_history.day` as YYYY-MM-DD text: selected, and compared as text so any string bounds a range. */
  readonly day: string
  /**
   * The SQL type of each written column, by table, for engines that take array parameters
   * (PostgreSQL): then a whole commit is one statement, the checkpoints' compare-and-set and an
   * `INSERT … SELECT FROM unnest` per table in a `WITH` (`commitInOne`), one round trip.
   */
  readonly arrayTypes?: Readonly<Record<string, Readonly<Record<string, string>>>>
}

/** One table's rows of a commit: upserted by `key`; `update` columns take the new values, none keeps an existing row. */
interface TableWrite {
  readonly table: string
  readonly key: string
  readonly update: ReadonlyArray<string>
  readonly rows: ReadonlyArray<Record<string, unknown>>
}

type Decimalish = string | number
type Timestampish = Date | number | string

interface AccountRow {
  readonly account_id: string
  readonly cash: Decimalish
  readonly realized_pnl: Decimalish
  readonly equity: Decimalish
  readonly as_of_position: number | string
  readonly last_updated: Timestampish
}

interface PositionDbRow {
  readonly account_id: string
  readonly symbol: string
  readonly quantity: Decimalish
  readonly avg_cost: Decimalish
  readonly market_value: Decimalish | null
  readonly unrealized_pnl: Decimalish | null
  readonly last_updated: Timestampish
  readonly market_price: Decimalish | null
  readonly cost_basis: Decimalish
  readonly realized_pnl: Decimalish
}

/** An account joined with its positions: one row per position, or one with the position columns null. */
type PortfolioDbRow = Omit<AccountRow, "realized_pnl" | "last_updated"> & { [K in keyof Omit<PositionDbRow, "account_id">]: PositionDbRow[K] | null } & {
  readonly account_realized_pnl: Decimalish
  readonly account_last_updated: Timestampish
}

interface TradeDbRow {
  readonly trade_id: string
  readonly order_id: string
  readonly account_id: string
  readonly symbol: string
  readonly trade_type: string
  readonly quantity: Decimalish
  readonly price: Decimalish
  readonly executed_at: Timestampish
}

interface BarRow {
  readonly symbol: string
  readonly minute: Timestampish
  readonly open: Decimalish
  readonly high: Decimalish
  readonly low: Decimalish
  readonly close: Decimalish
  readonly ticks: number | string
}

// Decimals go in as strings (TEXT in SQLite, NUMERIC in PostgreSQL) and come back as strings: never a float.
const dec = (v: Decimalish) => BigDecimal.unsafeFromString(String(v))
const optionalDec = (v: Decimalish | null) => (v === null ? Option.none() : Option.some(dec(v)))
const time = (v: Timestampish) => DateTime.unsafeMake(typeof v === "string" ? Number(v) : v)
const shown = (x: Option.Option<BigDecimal.BigDecimal>, scale: number) => Option.getOrNull(Option.map(x, (v) => display(v, scale)))

const TRADE_COLUMNS = "trade_id, order_id, account_id, symbol, trade_type, quantity, price, executed_at"
const BAR_COLUMNS = "symbol, minute, open, high, low, close, ticks"

const accountRecord = (r: AccountRow): AccountRecord => ({
  accountId: r.account_id, cash: dec(r.cash), realizedPnl: dec(r.realized_pnl), equity: dec(r.equity),
  asOfPosition: Number(r.as_of_position), lastUpdated: time(r.last_updated)
})

const positionRecord = (r: PositionDbRow): PositionRecord => ({
  accountId: r.account_id, symbol: r.symbol, quantity: dec(r.quantity), costBasis: dec(r.cost_basis), realizedPnl: dec(r.realized_pnl),
  avgCost: dec(r.avg_cost), marketPrice: optionalDec(r.market_price), marketValue: optionalDec(r.market_value),
  unrealizedPnl: optionalDec(r.unrealized_pnl), lastUpdated: time(r.last_updated)
})

/** An account joined with its positions: one statement, so one snapshot and one round trip. */
const PORTFOLIO_SELECT = `SELECT a.account_id, a.cash, a.realized_pnl AS account_realized_pnl, a.equity, a.as_of_position,
    a.last_updated AS account_last_updated, p.symbol, p.quantity, p.avg_cost, p.market_value, p.unrealized_pnl,
    p.last_updated, p.market_price, p.cost_basis, p.realized_pnl
  FROM account_balances a LEFT JOIN portfolio_positions p ON p.account_id = a.account_id`

/** PORTFOLIO_SELECT's rows by account, in the order the accounts first come. */
const portfolios = (rows: ReadonlyArray<PortfolioDbRow>) => {
  const byAccount = new Map<string, { readonly account: AccountRecord; readonly positions: Array<PositionRecord> }>()
  for (const r of rows) {
    let entry = byAccount.get(r.account_id)
    if (entry === undefined) {
      entry = { account: accountRecord({ ...r, realized_pnl: r.account_realized_pnl, last_updated: r.account_last_updated }), positions: [] }
      byAccount.set(r.account_id, entry)
    }
    if (r.symbol !== null) entry.positions.push(positionRecord(r as PositionDbRow))
  }
  return [...byAccount.values()]
}

const tradeRow = (r: TradeDbRow): TradeRow => ({
  tradeId: r.trade_id, orderId: r.order_id, accountId: r.account_id, symbol: r.symbol, side: r.trade_type === "SELL" ? "SELL" : "BUY",
  quantity: dec(r.quantity), price: dec(r.price), executedAt: time(r.executed_at)
})

const barRow = (r: BarRow): Bar => ({
  symbol: r.symbol, minute: time(r.minute), open: dec(r.open), high: dec(r.high), low: dec(r.low), close: dec(r.close),
  ticks: Number(r.ticks)
})

/** Rows per multi-row statement, and ids per IN list: well under both engines' parameter limits. */
const CHUNK = 200
const chunks = <A>(xs: ReadonlyArray<A>): Array<ReadonlyArray<A>> =>
  Array.from({ length: Math.ceil(xs.length / CHUNK) }, (_, i) => xs.slice(i * CHUNK, (i + 1) * CHUNK))

const isDivisionByZero = (error: SqlError.SqlError) =>
  typeof error.cause === "object" && error.cause !== null && (error.cause as { readonly code?: unknown }).code === "22012"

const unavailable = (reason: string) => (cause: SqlError.SqlError) => new ReadModelUnavailable({ reason, cause })

/** Each projection's tables: what a rebuild empties. */
const TABLES: Record<ProjectionName, ReadonlyArray<string>> = {
  portfolio: ["account_balances", "portfolio_positions", "balance_history", "latest_prices"],
  trades: ["trade_history"],
  bars: ["price_bars"]
}

/** The read models (ReadModel) and the runner's side of them (ReadModelStore) over any @effect/sql client. */
export const make = (dialect: ReadModelDialect) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const ts = dialect.timestamp
    const commits = yield* SubscriptionRef.make(0)
    const committed = SubscriptionRef.update(commits, (n) => n + 1)

    // every projection has its checkpoint row, so a commit's compare-and-set always has a row to compare
    yield* Effect.forEach(projectionNames, (name) =>
      sql`INSERT INTO projection_checkpoints (name, position) VALUES (${name}, 0) ON CONFLICT (name) DO NOTHING`, { discard: true })

    const onConflict = (w: TableWrite) =>
      `ON CONFLICT (${w.key}) ${w.update.length === 0 ? "DO NOTHING" : `DO UPDATE SET ${w.update.map((c) => `${c} = excluded.${c}`).join(", ")}`}`

    /** Multi-row upserts, in chunks. */
    const upsert = (w: TableWrite) =>
      Effect.forEach(chunks(w.rows), (chunk) =>
        sql`INSERT INTO ${sql(w.table)} ${sql.insert(chunk)} ${sql.literal(onConflict(w))}`, { discard: true })

    /** The rows one projection's changes write, table by table (the positions it removes are apart). */
    const tableWrites = (changes: ReadModelChanges): Array<TableWrite> => [
      {
        table: "account_balances", key: "account_id", update: ["cash", "realized_pnl", "equity", "as_of_position", "last_updated"],
        rows: (changes.accounts ?? []).map((a) => ({
          account_id: a.accountId, cash: exactText(a.cash), realized_pnl: exactText(a.realizedPnl), equity: exactText(a.equity),
          as_of_position: a.asOfPosition, last_updated: ts(a.lastUpdated)
        }))
      },
      {
        table: "portfolio_positions", key: "account_id, symbol",
        update: ["quantity", "avg_cost", "market_value", "unrealized_pnl", "last_updated", "market_price", "cost_basis", "realized_pnl"],
        rows: (changes.positions ?? []).map((p) => ({
          account_id: p.accountId, symbol: p.symbol, quantity: display(p.quantity, 2), avg_cost: display(p.avgCost, 4),
          market_value: shown(p.marketValue, 2), unrealized_pnl: shown(p.unrealizedPnl, 2), last_updated: ts(p.lastUpdated),
          market_price: Option.getOrNull(Option.map(p.marketPrice, exactText)), cost_basis: exactText(p.costBasis),
          realized_pnl: exactText(p.realizedPnl)
        }))
      },
      {
        table: "balance_history", key: "account_id, day", update: ["cash", "equity"],
        rows: (changes.balances ?? []).map((b) => ({ account_id: b.accountId, day: b.date, cash: exactText(b.cash), equity: exactText(b.equity) }))
      },
      {
        table: "latest_prices", key: "symbol", update: ["price", "at"],
        rows: (changes.prices ?? []).map((p) => ({ symbol: p.symbol, price: exactText(p.price), at: ts(p.at) }))
      },
      {
        table: "trade_history", key: "trade_id", update: [],
        rows: (changes.trades ?? []).map((t) => ({
          trade_id: t.tradeId, order_id: t.orderId, account_id: t.accountId, symbol: t.symbol, trade_type: t.side,
          quantity: display(t.quantity, 2), price: display(t.price, 4), executed_at: ts(t.executedAt)
        }))
      },
      {
        table: "price_bars", key: "symbol, minute", update: ["open", "high", "low", "close", "ticks"],
        rows: (changes.bars ?? []).map((b) => ({
          symbol: b.symbol, minute: ts(b.minute), open: exactText(b.open), high: exactText(b.high), low: exactText(b.low),
          close: exactText(b.close), ticks: b.ticks
        }))
      }
    ].filter((w) => w.rows.length > 0)

    /**
     * A commit's rows as data-modifying WITH parts, one per table, each row set as column arrays
     * (a fixed number of parameters), then the removals; parameters are added to `params`.
     */
    const writeParts = (
      types: NonNullable<ReadModelDialect["arrayTypes"]>,
      writes: ReadonlyArray<TableWrite>,
      removed: ReadonlyArray<{ readonly accountId: string; readonly symbol: string }>,
      params: Array<unknown>
    ) => {
      const param = (values: ReadonlyArray<unknown>, type: string) => {
        params.push(values)
        return `$${params.length}::${type}[]`
      }
      const parts = writes.map((w, i) => {
        const columns = Object.keys(w.rows[0]!)
        const arrays = columns.map((c) => param(w.rows.map((r) => r[c] ?? null), types[w.table]?.[c] ?? "text"))
        return `w${i} AS (INSERT INTO ${w.table} (${columns.join(", ")}) SELECT * FROM unnest(${arrays.join(", ")}) ${onConflict(w)})`
      })
      if (removed.length > 0) {
        parts.push(`removed AS (DELETE FROM portfolio_positions p USING unnest(${param(removed.map((r) => r.accountId), "text")}, ${
          param(removed.map((r) => r.symbol), "text")}) AS r(account_id, symbol) WHERE p.account_id = r.account_id AND p.symbol = r.symbol)`)
      }
      return parts
    }

    /**
     * Inside the commit's transaction (engines without array parameters), after the checkpoints
     * moved: the rows, then the removals.
     */
    const write = (writes: ReadonlyArray<TableWrite>, removed: ReadonlyArray<{ readonly accountId: string; readonly symbol: string }>) =>
      Effect.zipRight(
        Effect.forEach(writes, upsert, { discard: true }),
        Effect.forEach(removed, (p) =>
          sql`DELETE FROM portfolio_positions WHERE account_id = ${p.accountId} AND symbol = ${p.symbol}`, { discard: true })
      )

    /**
     * With array parameters, a whole commit is one autocommitted statement: the checkpoints'
     * compare-and-set and the rows in one WITH, and a final division by zero when fewer
     * checkpoints moved than the batch expected, which undoes the whole statement. One round trip
     * where a transaction took four (BEGIN, the checkpoints, the rows, COMMIT).
     */
    const commitInOne = (types: NonNullable<ReadModelDialect["arrayTypes"]>, batch: ReadonlyArray<ProjectionCommit>) => {
      const params: Array<unknown> = []
      const param = (value: unknown) => {
        params.push(value)
        return `$${params.length}`
      }
      const cases = batch.map((c) => `WHEN ${param(c.projection)}::text THEN ${param(c.next)}::bigint`).join(" ")
      const expected = batch.map((c) => `(name = ${param(c.projection)}::text AND position = ${param(c.expected)}::bigint)`).join(" OR ")
      const changes = batch.map((c) => c.changes)
      const parts = [
        `moved AS (UPDATE projection_checkpoints SET position = CASE name ${cases} END WHERE ${expected} RETURNING name)`,
        ...writeParts(types, changes.flatMap(tableWrites), changes.flatMap((c) => c.removedPositions ?? []), params)
      ]
      return sql.unsafe(`WITH ${parts.join(",\n")} SELECT 1 / ((SELECT count(*) FROM moved) = ${batch.length})::int AS ok`, params).pipe(
        Effect.asVoid,
        Effect.catchIf(isDivisionByZero, () =>
          // which one: the first whose stored checkpoint is not the expected one (nothing was written)
          Effect.flatMap(
            sql<{ name: string; position: number | string }>`SELECT name, position FROM projection_checkpoints`,
            (rows) => {
              const lost = batch.find((c) => !rows.some((r) => r.name === c.projection && Number(r.position) === c.expected)) ?? batch[0]!
              return new CheckpointMoved({ projection: lost.projection, expected: lost.expected })
            }
          ))
      )
    }

    /**
     * `column` (text) is one of `values`. With array parameters, one array: one statement text
     * whatever their number, which a connection prepares once (docs/adr/0027); else an IN list.
     */
    const oneOf = (column: string, values: ReadonlyArray<string>) =>
      dialect.arrayTypes !== undefined ? sql`${sql.literal(column)} = ANY(${values}::text[])` : sql`${sql.literal(column)} IN ${sql.in(values)}`

    const inChunks = <A>(ids: ReadonlyArray<string>, query: (chunk: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<A>, SqlError.SqlError>) =>
      Effect.map(Effect.forEach(chunks([...new Set(ids)]), query), (pages) => pages.flat())

    const store = ReadModelStore.of({
      checkpoint: (projection) =>
        sql<{ position: number | string }>`SELECT position FROM projection_checkpoints WHERE name = ${projection}`.pipe(
          Effect.map(([row]) => Number(row?.position ?? 0)),
          Effect.mapError(unavailable("checkpoint read failed"))
        ),
      commit: (batch) =>
        (batch.length > 0 && dialect.arrayTypes !== undefined ? commitInOne(dialect.arrayTypes, batch) : sql.withTransaction(Effect.gen(function*() {
          if (batch.length === 0) return
          // the checkpoints' compare-and-set comes first, one statement for all: a runner that lost the race writes nothing
          const moved = yield* sql<{ name: string }>`UPDATE projection_checkpoints
            SET position = CASE name ${sql.join(" ", false)(batch.map((c) => sql`WHEN ${c.projection} THEN CAST(${c.next} AS BIGINT)`))} END
            WHERE ${sql.or(batch.map((c) => sql.and([sql`name = ${c.projection}`, sql`position = ${c.expected}`])))}
            RETURNING name`
          const lost = batch.find((c) => !moved.some((row) => row.name === c.projection))
          if (lost !== undefined) return yield* new CheckpointMoved({ projection: lost.projection, expected: lost.expected })
          const changes = batch.map((c) => c.changes)
          yield* write(changes.flatMap(tableWrites), changes.flatMap((c) => c.removedPositions ?? []))
        }))).pipe(
          Effect.catchTag("SqlError", (cause) =>
            new ReadModelUnavailable({ reason: `commit of ${batch.map((c) => c.projection).join(", ")} failed`, cause })),
          Effect.zipLeft(committed)
        ),
      reset: (projection) =>
        sql.withTransaction(Effect.gen(function*() {
          for (const table of TABLES[projection]) yield* sql`DELETE FROM ${sql(table)}`
          yield* sql`UPDATE projection_checkpoints SET position = 0 WHERE name = ${projection}`
        })).pipe(Effect.mapError(unavailable(`reset of ${projection} failed`)), Effect.zipLeft(committed)),
      // the accounts with their positions, one statement per chunk of ids (a projection page's
      // accounts are usually one chunk): one round trip where two were
      loadAccounts: (ids) =>
        inChunks(ids, (chunk) =>
          // the positions filtered by the ids too: both sides found by their keys, whatever plan
          // a prepared statement settles on
          sql<PortfolioDbRow>`${sql.literal(PORTFOLIO_SELECT)} AND ${oneOf("p.account_id", chunk)} WHERE ${oneOf("a.account_id", chunk)}`).pipe(
          Effect.map(portfolios),
          Effect.mapError(unavailable("loading accounts failed"))
        ),
      holders: (symbols) =>
        inChunks(symbols, (chunk) =>
          sql<{ account_id: string }>`SELECT DISTINCT account_id FROM portfolio_positions WHERE ${oneOf("symbol", chunk)}`).pipe(
          Effect.map((rows) => [...new Set(rows.map((r) => r.account_id))]),
          Effect.mapError(unavailable("loading holders failed"))
        ),
      loadPrices: (symbols) =>
        inChunks(symbols, (chunk) =>
          sql<{ symbol: string; price: Decimalish; at: Timestampish }>`SELECT symbol, price, at FROM latest_prices
            WHERE ${oneOf("symbol", chunk)}`).pipe(
          Effect.map((rows) => rows.map((r): PriceRow => ({ symbol: r.symbol, price: dec(r.price), at: time(r.at) }))),
          Effect.mapError(unavailable("loading prices failed"))
        ),
      loadBars: (keys) => {
        const bySymbol = new Map<string, Array<DateTime.Utc>>()
        for (const k of keys) bySymbol.set(k.symbol, [...(bySymbol.get(k.symbol) ?? []), k.minute])
        return Effect.forEach([...bySymbol], ([symbol, minutes]) =>
          sql<BarRow>`SELECT ${sql.literal(BAR_COLUMNS)} FROM price_bars
            WHERE symbol = ${symbol} AND ${sql.in("minute", minutes.map(ts))}`).pipe(
          Effect.map((pages) => pages.flat().map(barRow)),
          Effect.mapError(unavailable("loading bars failed"))
        )
      },
      accounts: sql<{ account_id: string }>`SELECT account_id FROM account_balances UNION SELECT account_id FROM trade_history`.pipe(
        Effect.map((rows) => rows.map((r) => r.account_id)),
        Effect.mapError(unavailable("listing accounts failed"))
      ),
      commits: commits.changes
    })

    const query = ReadModel.of({
      position: sql<{ position: number | string | null }>`SELECT MIN(position) AS position FROM projection_checkpoints
        WHERE ${sql.in("name", projectionNames)}`.pipe(
        Effect.map(([row]) => Number(row?.position ?? 0)),
        Effect.mapError(unavailable("position read failed"))
      ),
      // one statement, so the account and its positions come from one snapshot (and one round trip)
      portfolio: (accountId) =>
        sql<PortfolioDbRow>`${sql.literal(PORTFOLIO_SELECT)} WHERE a.account_id = ${accountId}`.pipe(
          Effect.map((rows) => Option.map(Option.fromNullable(portfolios(rows)[0]), ({ account, positions }) => portfolioRow(account, positions))),
          Effect.mapError(unavailable("portfolio query failed"))
        ),
      trades: (accountId, query) =>
        Effect.gen(function*() {
          const cursor = query.cursor === undefined ? Option.none() : decodeTradeCursor(query.cursor)
          if (query.cursor !== undefined && Option.isNone(cursor)) return yield* Effect.dieMessage(`malformed trade cursor: ${query.cursor}`)
          const rows = yield* sql<TradeDbRow>`SELECT ${sql.literal(TRADE_COLUMNS)} FROM trade_history
            WHERE account_id = ${accountId}
            ${query.symbol === undefined ? sql`` : sql`AND symbol = ${query.symbol}`}
            ${query.from === undefined ? sql`` : sql`AND executed_at >= ${ts(query.from)}`}
            ${query.to === undefined ? sql`` : sql`AND executed_at < ${ts(query.to)}`}
            ${Option.match(cursor, {
              onNone: () => sql``,
              onSome: (c) => sql`AND (executed_at < ${ts(c.executedAt)} OR (executed_at = ${ts(c.executedAt)} AND trade_id < ${c.tradeId}))`
            })}
            ORDER BY executed_at DESC, trade_id DESC LIMIT ${pageSize(query) + 1}`
          return tradePage(rows.map(tradeRow), query)
        }).pipe(Effect.mapError(unavailable("trades query failed"))),
      balanceHistory: (accountId, from, to) =>
        sql<{ day: string; cash: Decimalish; equity: Decimalish }>`SELECT ${sql.literal(dialect.day)} AS day, cash, equity
          FROM balance_history WHERE account_id = ${accountId}
          AND ${sql.literal(dialect.day)} >= ${from} AND ${sql.literal(dialect.day)} <= ${to} ORDER BY day`.pipe(
          Effect.map((rows) => rows.map((r) => balancePoint({ accountId, date: r.day, cash: dec(r.cash), equity: dec(r.equity) } satisfies BalanceRecord))),
          Effect.mapError(unavailable("balance history query failed"))
        ),
      latestPrice: (symbol) =>
        sql<{ symbol: string; price: Decimalish; at: Timestampish }>`SELECT symbol, price, at FROM latest_prices WHERE symbol = ${symbol}`.pipe(
          Effect.map(([row]) => Option.map(Option.fromNullable(row), (r): PriceRow => ({ symbol: r.symbol, price: dec(r.price), at: time(r.at) }))),
          Effect.mapError(unavailable("latest price query failed"))
        ),
      bars: (symbol, from, to) =>
        sql<BarRow>`SELECT ${sql.literal(BAR_COLUMNS)} FROM price_bars
          WHERE symbol = ${symbol} AND minute >= ${ts(from)} AND minute < ${ts(to)} ORDER BY minute`.pipe(
          Effect.map((rows) => rows.map(barRow)),
          Effect.mapError(unavailable("bars query failed"))
        )
    })

    return Context.make(ReadModel, query).pipe(Context.add(ReadModelStore, store))
  })
