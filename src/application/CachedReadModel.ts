import { Context, Duration, Effect, Either, Layer, Option, Schedule, Schema } from "effect"
import { HotCache } from "./ports/HotCache.js"
import { type LiveUpdate, LiveUpdates, PortfolioChanged, PriceChanged, TradeFilled } from "./ports/LiveUpdates.js"
import { type PortfolioRow, type PriceRow, ReadModel, type ReadModelUnavailable } from "./ports/ReadModel.js"
import { type ReadModelChanges, ReadModelStore } from "./ports/ReadModelStore.js"
import { CASH_SCALE, roundHalfEven } from "../domain/Decimal.js"

const DEFAULT_TTL = Duration.seconds(30)
/** How often fences that could not be raised (the cache was down during a commit) are tried again. */
const RETRY_FENCES_EVERY = Duration.seconds(1)

const Decimal = Schema.BigDecimal
const OptionalDecimal = Schema.OptionFromNullOr(Schema.BigDecimal)

/** A cached portfolio: JSON, decimals as strings, instants as ISO strings. */
export const PortfolioJson: Schema.Schema<PortfolioRow, string> = Schema.parseJson(Schema.Struct({
  accountId: Schema.String,
  cash: Decimal,
  equity: Decimal,
  asOfPosition: Schema.Number,
  lastUpdated: Schema.DateTimeUtc,
  positions: Schema.Array(Schema.Struct({
    symbol: Schema.String,
    quantity: Decimal,
    avgCost: Decimal,
    marketPrice: OptionalDecimal,
    marketValue: OptionalDecimal,
    unrealizedPnl: OptionalDecimal,
    realizedPnl: Decimal,
    lastUpdated: Schema.DateTimeUtc
  }))
}))

export const PriceJson: Schema.Schema<PriceRow, string> = Schema.parseJson(Schema.Struct({
  symbol: Schema.String,
  price: Decimal,
  at: Schema.DateTimeUtc
}))

// the version in a key changes with the cached JSON's shape, so an old entry is never decoded as a new one
export const portfolioKey = (accountId: string) => `portfolio:v1:${accountId}`
export const priceKey = (symbol: string) => `price:v1:${symbol}`

/** The cached answers a commit changes: the portfolio of every account it writes, the price of every symbol it marks. */
export const touchedKeys = (changes: ReadModelChanges): ReadonlyArray<string> => [
  ...new Set([
    ...[...changes.accounts ?? [], ...changes.positions ?? [], ...changes.removedPositions ?? []].map((r) => portfolioKey(r.accountId)),
    ...(changes.prices ?? []).map((p) => priceKey(p.symbol))
  ])
]

/** The live updates of a commit: prices marked, trades recorded, portfolios changed. */
export const liveUpdates = (changes: ReadModelChanges): ReadonlyArray<LiveUpdate> => [
  ...(changes.prices ?? []).map((p) => new PriceChanged({ symbol: p.symbol, price: p.price, at: p.at })),
  ...(changes.trades ?? []).map((t) => new TradeFilled(t)),
  ...(changes.accounts ?? []).map((a) =>
    new PortfolioChanged({
      accountId: a.accountId, cash: roundHalfEven(a.cash, CASH_SCALE), equity: roundHalfEven(a.equity, CASH_SCALE),
      asOfPosition: a.asOfPosition, at: a.lastUpdated
    }))
]

export interface CacheOptions {
  /** How long an entry lives: only the backstop for a fence that could not be raised (default 30 s). */
  readonly ttl?: Duration.DurationInput
}

/**
 * Decorates the read models with the hot cache and live updates (docs/adr/0012).
 * Reads: `portfolio` and `latestPrice` try the cache, then the read model, and fill the cache with
 * the answer stamped with the portfolio checkpoint read before it. Any cache failure is logged and
 * the read goes to the read model: callers never see it.
 * Writes: a commit first raises the fences of the keys it changes, to its new checkpoint, so from
 * the moment the read model moves no entry read before it is served; then commits; then publishes
 * its live updates.
 */
export const layer = (options: CacheOptions = {}) =>
  Layer.scopedContext(Effect.gen(function*() {
    const readModel = yield* ReadModel
    const store = yield* ReadModelStore
    const cache = yield* HotCache
    const live = yield* LiveUpdates
    const ttl = options.ttl ?? DEFAULT_TTL
    /** Keys whose fence could not be raised, with the version it must reach: read around the cache until it does. */
    const unfenced = new Map<string, number>()

    /** Raises the fences; when the cache is down, remembers them for the retry instead. True when raised. */
    const fence = (keys: ReadonlyArray<string>, version: number) =>
      cache.invalidate(keys, version).pipe(
        Effect.as(true),
        Effect.tap(() =>
          Effect.sync(() => {
            for (const k of keys) if ((unfenced.get(k) ?? 0) <= version) unfenced.delete(k)
          })),
        Effect.catchTag("HotCacheUnavailable", () =>
          Effect.sync(() => {
            for (const k of keys) unfenced.set(k, Math.max(version, unfenced.get(k) ?? 0))
            return false
          }))
      )
    const retryFences = Effect.suspend(() =>
      unfenced.size === 0 ? Effect.void : fence([...unfenced.keys()], [...unfenced.values()].reduce((a, b) => Math.max(a, b), 0)))
    yield* Effect.forkScoped(Effect.repeat(retryFences, Schedule.spaced(RETRY_FENCES_EVERY)))

    const cached = <A>(key: string, schema: Schema.Schema<A, string>, load: Effect.Effect<Option.Option<A>, ReadModelUnavailable>) =>
      Effect.gen(function*() {
        if (unfenced.has(key)) return yield* load
        const hit = yield* Effect.either(cache.get(key))
        if (Either.isLeft(hit)) {
          yield* Effect.logDebug("cache unavailable: reading the read model", hit.left)
          return yield* load
        }
        if (Option.isSome(hit.right)) {
          const value = Schema.decodeOption(schema)(hit.right.value)
          if (Option.isSome(value)) return value
          yield* Effect.logWarning(`cache entry ${key} does not decode: reading the read model`)
        }
        // both cached answers come from the portfolio projection: its checkpoint before the read is the value's version
        const version = yield* store.checkpoint("portfolio")
        const value = yield* load
        if (Option.isSome(value)) {
          yield* cache.set(key, Schema.encodeSync(schema)(value.value), version, ttl).pipe(
            Effect.catchTag("HotCacheUnavailable", (e) => Effect.logDebug("cache fill failed", e))
          )
        }
        return value
      }).pipe(Effect.withSpan("CachedReadModel.read", { attributes: { key } }))

    const decoratedReads = ReadModel.of({
      ...readModel,
      portfolio: (accountId) => cached(portfolioKey(accountId), PortfolioJson, readModel.portfolio(accountId)),
      latestPrice: (symbol) => cached(priceKey(symbol), PriceJson, readModel.latestPrice(symbol))
    })

    const decoratedStore = ReadModelStore.of({
      ...store,
      commit: (batch) =>
        Effect.gen(function*() {
          for (const { changes, next } of batch) {
            const keys = touchedKeys(changes)
            if (keys.length > 0 && !(yield* fence(keys, next))) {
              yield* Effect.logWarning(`cache unavailable: ${keys.length} fence(s) not raised; reading around them and retrying`)
            }
          }
          yield* store.commit(batch)
          const updates = batch.flatMap((c) => liveUpdates(c.changes))
          if (updates.length > 0) {
            yield* live.publish(updates).pipe(
              Effect.catchTag("LiveUpdatesUnavailable", (e) => Effect.logWarning(`${updates.length} live update(s) not published`, e))
            )
          }
        })
    })

    return Context.make(ReadModel, decoratedReads).pipe(Context.add(ReadModelStore, decoratedStore))
  }))
