import { describe, expect, it } from "@effect/vitest"
import { Context, DateTime, Deferred, Effect, Fiber, Layer, Option, type Scope, Stream } from "effect"
import * as Memory from "../../../src/adapters/memory/index.js"
import { accountSummary, summarize } from "../../../src/application/AccountSummary.js"
import * as CachedReadModel from "../../../src/application/CachedReadModel.js"
import { HotCache } from "../../../src/application/ports/HotCache.js"
import { type LiveChannel, LiveUpdates, PortfolioChanged, PriceChanged } from "../../../src/application/ports/LiveUpdates.js"
import { ReadModel } from "../../../src/application/ports/ReadModel.js"
import { ReadModelStore } from "../../../src/application/ports/ReadModelStore.js"
import * as Markets from "../../../src/application/Markets.js"
import { catchUp, waitFor } from "../../../src/application/Projections.js"
import * as TradingAccounts from "../../../src/application/TradingAccounts.js"
import { decimal } from "../../../src/domain/Decimal.js"
import { ACME, openAccountWith, openMarketAt } from "../../application/fixtures.js"
import { projectAll, trade } from "../../application/projectionSuite.js"

export type CacheServices = HotCache | LiveUpdates

/**
 * A fresh namespace of the cache (a key prefix on Redis, a new instance in memory); what it
 * succeeds with connects one more API instance to that namespace.
 */
export type Namespace = Effect.Effect<Effect.Effect<Context.Context<CacheServices>, unknown, Scope.Scope>, unknown, Scope.Scope>

type Stores = Layer.Layer.Success<typeof Memory.layer>

/** The in-memory stores, with their read models behind one instance's cache. */
export const cachedStores = (stores: Context.Context<Stores>, services: Context.Context<CacheServices>) =>
  Layer.build(CachedReadModel.layer().pipe(Layer.provide(Layer.succeedContext(Context.merge(stores, services))))).pipe(
    Effect.map((decorated) => Context.merge(Context.merge(stores, services), decorated))
  )

/** A tick at the current time (a market refuses a tick not after its last one). */
export const tickAt = (price: string) =>
  Effect.zipRight(Effect.sleep("2 millis"), Effect.flatMap(DateTime.now, (now) => Markets.updatePrice(ACME, decimal(price), now)))

const raw = (stores: Context.Context<Stores>) => Context.get(stores, ReadModel)

/** The first `n` updates on `channel`, collected in the background from a subscription already in place. */
const collect = (channel: LiveChannel, n: number) =>
  Effect.flatMap(LiveUpdates, (live) => live.subscribe(channel)).pipe(
    Effect.flatMap((stream) => Effect.forkScoped(Stream.runCollect(Stream.take(stream, n)))),
    Effect.map((fiber) => Fiber.join(fiber).pipe(Effect.timeout("5 seconds"), Effect.map((c) => [...c])))
  )

/** The hot cache, the caching read model and the live updates, against one cache backend. */
export const cacheSuite = (name: string, namespace: Namespace): void => {
  const setup = Effect.gen(function*() {
    const connect = yield* namespace
    const stores = yield* Layer.build(Memory.layer)
    return { connect, stores, instance: Effect.flatMap(connect, (services) => cachedStores(stores, services)) }
  })

  describe(`${name} hot cache`, () => {
    it.scopedLive("a miss, a fill, a hit, and nothing once the TTL has passed", () =>
      Effect.gen(function*() {
        const cache = Context.get(yield* (yield* setup).connect, HotCache)
        expect(yield* cache.get("k")).toEqual(Option.none())
        yield* cache.set("k", "v1", 7, "300 millis")
        expect(yield* cache.get("k")).toEqual(Option.some("v1"))
        yield* cache.set("k", "v2", 7, "300 millis")
        expect(yield* cache.get("k")).toEqual(Option.some("v2"))
        yield* Effect.sleep("450 millis")
        expect(yield* cache.get("k")).toEqual(Option.none())
      }))

    it.scopedLive("an entry set below its key's fence is not served, and a fence never falls", () =>
      Effect.gen(function*() {
        const cache = Context.get(yield* (yield* setup).connect, HotCache)
        yield* cache.set("k", "at 3", 3, "1 minute")
        yield* cache.set("other", "at 3", 3, "1 minute")
        yield* cache.invalidate(["k"], 5)
        expect(yield* cache.get("k")).toEqual(Option.none())
        expect(yield* cache.get("other")).toEqual(Option.some("at 3"))
        yield* cache.set("k", "at 4", 4, "1 minute") // a read that began before the commit at 5
        expect(yield* cache.get("k")).toEqual(Option.none())
        yield* cache.set("k", "at 5", 5, "1 minute")
        expect(yield* cache.get("k")).toEqual(Option.some("at 5"))
        yield* cache.invalidate(["k"], 2)
        expect(yield* cache.get("k")).toEqual(Option.some("at 5"))
        yield* cache.invalidate([], 9)
        expect(yield* cache.get("k")).toEqual(Option.some("at 5"))
      }))
  })

  describe(`${name} caching read model`, () => {
    it.scopedLive("serves portfolios and prices from the cache once filled, exactly as the read model answered", () =>
      Effect.gen(function*() {
        const { instance, stores } = yield* setup
        yield* Effect.gen(function*() {
          yield* openMarketAt(ACME, "10.00")
          const id = yield* openAccountWith("1000.00")
          yield* trade(id, ACME, "BUY", "3.5")
          yield* tickAt("10.3333")
          yield* projectAll
          const cached = yield* ReadModel
          const cache = yield* HotCache
          expect(yield* cache.get(CachedReadModel.portfolioKey(id))).toEqual(Option.none())
          const portfolio = yield* cached.portfolio(id) // a miss: read and filled
          expect(Option.isSome(portfolio)).toBe(true)
          expect(portfolio).toEqual(yield* raw(stores).portfolio(id))
          expect(Option.isSome(yield* cache.get(CachedReadModel.portfolioKey(id)))).toBe(true)
          const price = yield* cached.latestPrice(ACME)
          expect(price).toEqual(Option.some({ symbol: ACME, price: decimal("10.3333"), at: Option.getOrThrow(price).at }))

          // a change behind the cache's back (the undecorated store raises no fence) is not seen: the reads are hits
          const store = Context.get(stores, ReadModelStore)
          const checkpoint = yield* store.checkpoint("portfolio")
          const [loaded] = yield* store.loadAccounts([id])
          yield* store.commit([{
            projection: "portfolio", expected: checkpoint, next: checkpoint, changes: {
              accounts: [{ ...loaded!.account, cash: decimal("1") }],
              prices: [{ symbol: ACME, price: decimal("99"), at: yield* DateTime.now }]
            }
          }])
          expect(yield* cached.portfolio(id)).toEqual(portfolio)
          expect(yield* cached.latestPrice(ACME)).toEqual(price)
          // what the read model does not have is not cached
          expect(yield* cached.portfolio("nobody")).toEqual(Option.none())
          expect(yield* cache.get(CachedReadModel.portfolioKey("nobody"))).toEqual(Option.none())
        }).pipe(Effect.provide(yield* instance))
      }))

    it.scopedLive("a projection's commit invalidates what it changes, on every instance", () =>
      Effect.gen(function*() {
        const { instance, stores } = yield* setup
        const a = yield* instance // runs the projections
        const b = yield* instance // another API instance on the same read models and cache
        const id = yield* Effect.gen(function*() {
          yield* openMarketAt(ACME, "10.00")
          const id = yield* openAccountWith("1000.00")
          yield* trade(id, ACME, "BUY", "2")
          yield* projectAll
          return id
        }).pipe(Effect.provide(a))
        const readB = Effect.provide(Effect.all([Effect.flatMap(ReadModel, (r) => r.portfolio(id)), Effect.flatMap(ReadModel, (r) => r.latestPrice(ACME))]), b)
        const [before] = yield* readB // fills the cache
        expect(Option.getOrThrow(before).cash).toEqual(decimal("980"))
        yield* Effect.gen(function*() {
          yield* TradingAccounts.depositFunds(id, decimal("0.05"))
          yield* tickAt("11.00")
          yield* projectAll
        }).pipe(Effect.provide(a))
        const [portfolio, price] = yield* readB
        expect(Option.getOrThrow(portfolio).cash).toEqual(decimal("980.05"))
        expect(Option.getOrThrow(portfolio).equity).toEqual(decimal("1002.05"))
        expect(Option.map(price, (p) => p.price)).toEqual(Option.some(decimal("11")))
        expect(portfolio).toEqual(yield* raw(stores).portfolio(id))
        expect(yield* readB).toEqual([portfolio, price]) // and cached again
      }))

    it.scopedLive("an account summary is a hit until a projection commit changes the account, on every instance", () =>
      Effect.gen(function*() {
        const { instance, stores } = yield* setup
        const a = yield* instance // runs the projections
        const b = yield* instance // serves the summaries
        const id = yield* Effect.gen(function*() {
          yield* openMarketAt(ACME, "10.00")
          const id = yield* openAccountWith("1000.00")
          yield* trade(id, ACME, "BUY", "3")
          yield* tickAt("10.50")
          yield* projectAll
          return id
        }).pipe(Effect.provide(a))
        const summaryOnB = Effect.provide(accountSummary(id), b)
        const first = yield* summaryOnB // a miss: read and filled
        expect(first).toEqual(Option.some({
          accountId: id, cash: decimal("970"), equity: decimal("1001.5"), realizedPnl: decimal("0"), unrealizedPnl: Option.some(decimal("1.5")),
          openPositions: 1, asOfPosition: Option.getOrThrow(first).asOfPosition, lastUpdated: Option.getOrThrow(first).lastUpdated
        }))
        expect(Option.isSome(yield* Effect.provide(Effect.flatMap(HotCache, (c) => c.get(CachedReadModel.portfolioKey(id))), b))).toBe(true)

        // a hit: a change behind the cache's back (the undecorated store raises no fence) is not seen
        const store = Context.get(stores, ReadModelStore)
        const checkpoint = yield* store.checkpoint("portfolio")
        const [loaded] = yield* store.loadAccounts([id])
        yield* store.commit([{ projection: "portfolio", expected: checkpoint, next: checkpoint, changes: { accounts: [{ ...loaded!.account, cash: decimal("1") }] } }])
        expect(yield* summaryOnB).toEqual(first)
        yield* store.commit([{ projection: "portfolio", expected: checkpoint, next: checkpoint, changes: { accounts: [loaded!.account] } }])

        // the projection's commit for the account (a deposit, a tick re-marking it) fences the entry
        yield* Effect.gen(function*() {
          yield* TradingAccounts.depositFunds(id, decimal("0.05"))
          yield* tickAt("11.00")
          yield* projectAll
        }).pipe(Effect.provide(a))
        const after = Option.getOrThrow(yield* summaryOnB)
        expect(after).toMatchObject({ accountId: id, openPositions: 1 })
        expect([after.cash, after.equity, after.unrealizedPnl]).toEqual([decimal("970.05"), decimal("1003.05"), Option.some(decimal("3"))])
        expect(after.asOfPosition).toBeGreaterThan(Option.getOrThrow(first).asOfPosition)
        expect(Option.some(after)).toEqual(Option.map(yield* raw(stores).portfolio(id), summarize))
      }))

    it.scopedLive("a read that began before a commit cannot put the older portfolio back", () =>
      Effect.gen(function*() {
        const { connect, stores } = yield* setup
        // the read model as a slow server: it answers, then the answer takes a while to arrive
        const reading = yield* Deferred.make<void>()
        const arrive = yield* Deferred.make<void>()
        const slow = Context.add(stores, ReadModel, {
          ...raw(stores),
          portfolio: (id: string) =>
            raw(stores).portfolio(id).pipe(Effect.zipLeft(Deferred.succeed(reading, undefined)), Effect.zipLeft(Deferred.await(arrive)))
        })
        yield* Effect.gen(function*() {
          const id = yield* openAccountWith("1000.00")
          yield* projectAll
          const cached = yield* ReadModel
          const racing = yield* Effect.fork(cached.portfolio(id)) // a miss: reads 1000 at the old checkpoint
          yield* Deferred.await(reading)
          yield* TradingAccounts.depositFunds(id, decimal("500"))
          yield* projectAll // fences the portfolio, then commits
          yield* Deferred.succeed(arrive, undefined)
          expect(Option.getOrThrow(yield* Fiber.join(racing)).cash).toEqual(decimal("1000")) // it began before the commit
          expect(Option.getOrThrow(yield* cached.portfolio(id)).cash).toEqual(decimal("1500")) // its fill is never served
          expect(Option.getOrThrow(yield* cached.portfolio(id)).cash).toEqual(decimal("1500"))
        }).pipe(Effect.provide(yield* cachedStores(slow, yield* connect)))
      }))
    it.scopedLive("read-your-writes: a reader woken by the commit sees the new portfolio, however slow the cache is to fence", () =>
      Effect.gen(function*() {
        const { connect, stores } = yield* setup
        const services = yield* connect
        const cache = Context.get(services, HotCache)
        const slowFences = Context.add(services, HotCache, {
          ...cache,
          invalidate: (keys, version) => Effect.zipRight(Effect.sleep("200 millis"), cache.invalidate(keys, version))
        })
        yield* Effect.gen(function*() {
          const id = yield* openAccountWith("1000.00")
          yield* projectAll
          const cached = yield* ReadModel
          expect(Option.getOrThrow(yield* cached.portfolio(id)).cash).toEqual(decimal("1000")) // filled
          const { recorded } = yield* TradingAccounts.depositFunds(id, decimal("500"))
          const reader = yield* Effect.fork(
            Effect.zipRight(waitFor(recorded[recorded.length - 1]!.position, "5 seconds"), cached.portfolio(id))
          )
          yield* catchUp("trades")
          yield* catchUp("bars")
          yield* catchUp("portfolio") // the last to reach the deposit: its commit wakes the reader
          expect(Option.getOrThrow(yield* Fiber.join(reader)).cash).toEqual(decimal("1500"))
        }).pipe(Effect.provide(yield* cachedStores(stores, slowFences)))
      }))
  })

  describe(`${name} live updates`, () => {
    it.scopedLive("prices, fills and portfolio changes of a commit reach every instance's subscribers", () =>
      Effect.gen(function*() {
        const { instance, stores } = yield* setup
        const a = yield* instance
        const b = yield* instance
        const subscribe = Effect.all({ prices: collect("prices", 1), fills: collect("fills", 1), portfolios: collect("portfolios", 1) })
        const onA = yield* Effect.provide(subscribe, a)
        const onB = yield* Effect.provide(subscribe, b)
        const id = yield* Effect.gen(function*() {
          yield* openMarketAt(ACME, "10.00")
          const id = yield* openAccountWith("1000.00")
          yield* trade(id, ACME, "BUY", "3")
          yield* projectAll
          return id
        }).pipe(Effect.provide(a))
        const { items: [t] } = yield* raw(stores).trades(id, { limit: 1 })
        const price = Option.getOrThrow(yield* raw(stores).latestPrice(ACME))
        for (const received of [onA, onB]) {
          expect(yield* received.prices).toEqual([new PriceChanged({ symbol: ACME, price: decimal("10"), at: price.at })])
          const [fill] = yield* received.fills
          expect(fill).toMatchObject({ _tag: "TradeFilled", tradeId: t!.tradeId, accountId: id, side: "BUY" })
          expect(fill).toEqual(expect.objectContaining({ quantity: decimal("3"), price: decimal("10") }))
          const [changed] = yield* received.portfolios
          expect(changed).toBeInstanceOf(PortfolioChanged)
          expect(changed).toMatchObject({ accountId: id, asOfPosition: Option.getOrThrow(yield* raw(stores).portfolio(id)).asOfPosition })
          expect(changed).toEqual(expect.objectContaining({ cash: decimal("970"), equity: decimal("1000") }))
        }
      }))
  })
}
