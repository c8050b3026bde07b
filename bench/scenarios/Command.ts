import { Array as Arr, DateTime, Effect, Layer, Option, Redacted, Runtime } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as PgEventStore from "../../src/adapters/postgres/PgEventStore.js"
import * as SqlEventStore from "../../src/adapters/sql/SqlEventStore.js"
import type { SqlStores } from "../../src/adapters/sql/SqlStores.js"
import * as SqliteEventStore from "../../src/adapters/sqlite/SqliteEventStore.js"
import * as Markets from "../../src/application/Markets.js"
import * as TradingAccounts from "../../src/application/TradingAccounts.js"
import { RiskLimits } from "../../src/domain/AccountEvents.js"
import { decimal } from "../../src/domain/Decimal.js"
import { Currency, CustomerId, Symbol } from "../../src/domain/Ids.js"
import * as Progress from "../lib/Progress.js"
import * as Sides from "../lib/Sides.js"
import type { Results } from "../lib/Results.js"
import type { Settings } from "../lib/Settings.js"
import * as Steps from "../lib/Steps.js"
import { freshSchema } from "../lib/Targets.js"
import { knobs } from "./StoreAppend.js"

const { f } = Progress
export const SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "TSLA"]
const ONE = decimal("1")
/** Limits every order is checked against (notional, position per symbol, gross exposure), none of them binding. */
const LIMITS = new RiskLimits({
  maxOrderNotional: Option.some(decimal("1000000.00")), maxPositionPerSymbol: Option.some(decimal("1000000.00")),
  maxGrossExposure: Option.some(decimal("1000000000.00")), allowShort: false
})

const storeLayer = (name: "sqlite" | "postgres", s: Settings): Layer.Layer<SqlStores, unknown> => {
  const store = { ...SqlEventStore.defaultOptions, groupCommit: knobs(s).groupCommit }
  if (name === "postgres") {
    return Layer.unwrapScoped(Effect.map(freshSchema(s.pgUrl), ({ url }) =>
      PgEventStore.layer({ url: Redacted.make(url), maxConnections: s.pgMaxConnections, store })))
  }
  return Layer.unwrapScoped(Effect.map(
    Effect.acquireRelease(Effect.sync(() => mkdtempSync(join(tmpdir(), "ledgerline-bench-"))), (d) =>
      Effect.sync(() => rmSync(d, { recursive: true, force: true }))),
    (dir) => SqliteEventStore.layer({ filename: join(dir, "events.db"), store })
  ))
}

/** Open markets with a last price, and `accounts` funded accounts with risk limits: what a MARKET order needs. */
const setUp = (s: Settings) =>
  Effect.gen(function*() {
    const symbols = SYMBOLS.slice(0, s.command.symbols).map((x) => Symbol.make(x))
    for (const symbol of symbols) {
      yield* Markets.openMarket(symbol, { priceBand: decimal("0.05"), orderBand: decimal("0.10"), haltOnAnomaly: false }, { userId: "bench-risk" })
      yield* Markets.updatePrice(symbol, decimal("100.00"), yield* DateTime.now, { userId: "bench-risk" })
    }
    const accounts = yield* Effect.forEach(Arr.range(0, s.command.accounts - 1), (i) =>
      Effect.gen(function*() {
        const userId = `bench-trader-${i}`
        const { accountId } = yield* TradingAccounts.openAccount({
          customerId: CustomerId.make(userId), accountType: "INDIVIDUAL", currency: Currency.make("USD"),
          initialBalance: decimal("1000000000.00")
        }, { userId })
        yield* TradingAccounts.setRiskLimits(accountId, LIMITS, { userId: "bench-risk" })
        return { accountId, userId, symbol: symbols[i % symbols.length]!, sides: Sides.make() }
      }), { concurrency: 32 })
    return { accounts }
  })

/**
 * command.<sqlite|postgres>: the command path in process (load the market and the account, decide
 * with the risk checks, append OrderPlaced + TradeExecuted, answer), open loop over many accounts
 * in turn, one MARKET order of 1 share each, BUY and SELL in turn per account (lib/Sides); rates step up
 * until the P99 reaches 10 ms. A success is an answer with its TradeExecuted.
 */
export const run = (s: Settings, results: Results) =>
  Effect.forEach(["sqlite", "postgres"] as const, (name) =>
    Effect.gen(function*() {
      const label = `command.${name}`
      Progress.line(`${label}: opening ${f(s.command.accounts)} accounts and ${s.command.symbols} markets`)
      const started = performance.now()
      const { accounts } = yield* setUp(s)
      Progress.line(`${label}: set up in ${f((performance.now() - started) / 1000, 1)} s`)
      const runtime = yield* Effect.runtime<SqlStores>()
      const failures = new Map<string, number>()
      let next = 0
      const placeOne = (account: (typeof accounts)[number]) => {
        const side = account.sides.next()
        return TradingAccounts.placeOrder(account.accountId, {
          symbol: account.symbol, side, orderType: "MARKET", quantity: ONE, limitPrice: TradingAccounts.noLimitPrice
        }, { userId: account.userId }).pipe(
          Effect.map((r) => r.events.some((e) => e._tag === "TradeExecuted")),
          Effect.catchAll((e) => Effect.sync(() => {
            failures.set(e._tag, (failures.get(e._tag) ?? 0) + 1)
            return false
          })),
          Effect.tap((filled) => account.sides.done(side, filled))
        )
      }
      const send = () => Runtime.runPromise(runtime)(placeOne(accounts[next++ % accounts.length]!))
      const found = yield* Steps.findRate({
        label, rates: s.command.rates, refine: s.command.refine, warmupSeconds: s.stepWarmupSeconds, seconds: s.stepSeconds, maxInFlight: 50_000,
        drainSeconds: s.drainSeconds
      }, send)
      Steps.put(results, label, "trades_per_s", found)
      results[`${label}.accounts`] = accounts.length
      results[`${label}.failures`] = Object.fromEntries(failures)
      const best = found.best
      Progress.line(best === undefined
        ? `${label}: no offered rate kept P99 under ${Steps.P99_BOUND_MS} ms`
        : `${label}: ${f(best.achievedRate)} trades/s at ${f(best.offeredRate)}/s offered, P99 ${f(best.latency.p99, 2)} ms`)
      if (failures.size > 0) Progress.line(`${label}: failures by kind: ${JSON.stringify(Object.fromEntries(failures))}`)
    }).pipe(Effect.provide(storeLayer(name, s))), { discard: true })
