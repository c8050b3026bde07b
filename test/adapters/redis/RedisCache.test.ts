import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Exit, Layer, Option } from "effect"
import { createServer, type Server, type Socket, connect as tcpConnect } from "node:net"
import * as Memory from "../../../src/adapters/memory/index.js"
import { accountSummary } from "../../../src/application/AccountSummary.js"
import * as CachedReadModel from "../../../src/application/CachedReadModel.js"
import { HotCache } from "../../../src/application/ports/HotCache.js"
import { LiveUpdates } from "../../../src/application/ports/LiveUpdates.js"
import { ReadModel } from "../../../src/application/ports/ReadModel.js"
import * as TradingAccounts from "../../../src/application/TradingAccounts.js"
import { decimal } from "../../../src/domain/Decimal.js"
import { ACME, openAccountWith, openMarketAt } from "../../application/fixtures.js"
import { projectAll } from "../../application/projectionSuite.js"
import { cachedStores, cacheSuite, tickAt } from "./cacheSuite.js"
import { freshPrefix, REDIS_URL, redisLayer, runRedisSuites } from "./redisTest.js"

describe.runIf(runRedisSuites)("Redis", () => {
  cacheSuite("Redis", Effect.map(freshPrefix, (prefix) => Layer.build(redisLayer(prefix))))
})

/** Milliseconds `effect` takes. */
const timed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const start = Date.now()
    const result = yield* effect
    return [result, Date.now() - start] as const
  })

const cashOf = (id: string) => Effect.flatMap(ReadModel, (r) => r.portfolio(id)).pipe(Effect.map((p) => Option.getOrThrow(p).cash))

describe("Redis down", () => {
  it.scopedLive("with Redis at a dead port the service starts, projects and answers from the read model, quickly", () =>
    Effect.gen(function*() {
      const stores = yield* Layer.build(Memory.layer)
      const [services, startup] = yield* timed(Layer.build(redisLayer("ledgerline-test:dead:", "redis://127.0.0.1:1")))
      expect(startup).toBeLessThan(2000)
      yield* Effect.gen(function*() {
        yield* openMarketAt(ACME, "10.00")
        const id = yield* openAccountWith("1000.00")
        const [, projecting] = yield* timed(projectAll) // its fences and live updates fail, and are logged
        expect(projecting).toBeLessThan(2000)
        const [cash, reading] = yield* timed(cashOf(id))
        expect(cash).toEqual(decimal("1000"))
        expect(reading).toBeLessThan(2000)
        yield* TradingAccounts.depositFunds(id, decimal("1"))
        yield* tickAt("10.50")
        yield* projectAll
        const [[again, price], readingAgain] = yield* timed(Effect.all([cashOf(id), Effect.flatMap(ReadModel, (r) => r.latestPrice(ACME))]))
        expect(again).toEqual(decimal("1001"))
        expect(Option.map(price, (p) => p.price)).toEqual(Option.some(decimal("10.5")))
        expect(readingAgain).toBeLessThan(2000)
        const [summary, summarizing] = yield* timed(accountSummary(id))
        expect(Option.map(summary, (s) => [s.cash, s.equity])).toEqual(Option.some([decimal("1001"), decimal("1001")]))
        expect(summarizing).toBeLessThan(2000)
        const live = yield* LiveUpdates
        const subscribed = yield* Effect.exit(live.subscribe("prices"))
        expect(Exit.isFailure(subscribed)).toBe(true)
      }).pipe(Effect.provide(yield* cachedStores(stores, services)))
    }))
})

/** A TCP relay to the test Redis that can be cut and restored: Redis "stopping" without stopping the shared server. */
const relay = Effect.acquireRelease(
  Effect.sync(() => {
    const upstream = new URL(REDIS_URL)
    const sockets = new Set<Socket>()
    let server: Server | undefined
    let port = 0
    const start = () =>
      Effect.async<void>((resume) => {
        server = createServer((client) => {
          const redis = tcpConnect(Number(upstream.port || 6379), upstream.hostname)
          for (const s of [client, redis]) {
            sockets.add(s)
            s.on("error", () => s.destroy())
            s.on("close", () => {
              sockets.delete(s)
              client.destroy()
              redis.destroy()
            })
          }
          client.pipe(redis)
          redis.pipe(client)
        })
        server.listen(port, "127.0.0.1", () => {
          const address = server?.address()
          port = typeof address === "object" && address !== null ? address.port : 0
          resume(Effect.void)
        })
      })
    const cut = Effect.async<void>((resume) => {
      for (const s of sockets) s.destroy()
      if (server === undefined) return resume(Effect.void)
      server.close(() => resume(Effect.void))
    })
    return { start, cut, url: () => `redis://127.0.0.1:${port}` }
  }),
  (r) => r.cut
)

describe.runIf(runRedisSuites)("Redis going away and coming back", () => {
  it.scopedLive("reads go around the cache while it is gone, and no portfolio cached before is served once it is back", () =>
    Effect.gen(function*() {
      const prefix = yield* freshPrefix
      const r = yield* relay
      yield* r.start()
      const stores = yield* Layer.build(Memory.layer)
      const viaRelay = yield* cachedStores(stores, yield* Layer.build(redisLayer(prefix, r.url())))
      const direct = Context.get(yield* Layer.build(redisLayer(prefix)), HotCache) // to look at Redis itself
      yield* Effect.gen(function*() {
        const id = yield* openAccountWith("1000.00")
        yield* projectAll
        expect(yield* cashOf(id)).toEqual(decimal("1000")) // filled
        const key = CachedReadModel.portfolioKey(id)
        expect(Option.isSome(yield* direct.get(key))).toBe(true)

        yield* r.cut
        yield* TradingAccounts.depositFunds(id, decimal("500"))
        yield* projectAll // the fence cannot be raised: remembered
        const [cash, reading] = yield* timed(cashOf(id))
        expect(cash).toEqual(decimal("1500"))
        expect(reading).toBeLessThan(2000)
        expect(Option.isSome(yield* direct.get(key))).toBe(true) // Redis itself still holds the 1000

        yield* r.start()
        // the instance reconnects and raises the remembered fence: the entry of 1000 is never served again
        yield* Effect.gen(function*() {
          while (Option.isSome(yield* direct.get(key))) yield* Effect.sleep("50 millis")
        }).pipe(Effect.timeoutFail({ duration: "8 seconds", onTimeout: () => new Error("the fence was not raised after Redis came back") }))
        expect(yield* cashOf(id)).toEqual(decimal("1500"))
        expect(Option.isSome(yield* direct.get(key))).toBe(true) // cached again
      }).pipe(Effect.provide(viaRelay))
    }), 20_000)
})
