import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Fiber, Layer, Option, Stream } from "effect"
import { portfolioKey } from "../../../src/application/CachedReadModel.js"
import { decimal } from "../../../src/domain/Decimal.js"
import { HotCache } from "../../../src/application/ports/HotCache.js"
import { LiveUpdates } from "../../../src/application/ports/LiveUpdates.js"
import { type Server, startServer } from "../../e2e/server.js"
import { freshPrefix, REDIS_URL, redisLayer, runRedisSuites } from "./redisTest.js"

/** Opens an account with 1000.00 and deposits 500.00, reading the portfolio (read-your-writes) after each. */
const openAndDeposit = (
  server: Server,
  afterOpen: (id: string, readAgain: Effect.Effect<unknown>) => Effect.Effect<void> = () => Effect.void
) =>
  Effect.gen(function*() {
    const alice = yield* server.token("alice", "trader")
    const portfolio = (id: string, position: number) =>
      Effect.gen(function*() {
        const start = Date.now()
        const response = yield* server.call("GET", `/v1/accounts/${id}/portfolio?minPosition=${position}`, { token: alice })
        expect(response.status).toBe(200)
        expect(Date.now() - start).toBeLessThan(2000)
        return response.body.cash as string
      })
    const opened = yield* server.call("POST", "/v1/accounts", {
      token: alice, body: { customerId: "alice", accountType: "INDIVIDUAL", currency: "USD", initialBalance: "1000.00" }
    })
    const id = opened.body.accountId as string
    expect(yield* portfolio(id, opened.body.position)).toBe("1000.00")
    yield* afterOpen(id, portfolio(id, opened.body.position))
    const deposit = yield* server.call("POST", `/v1/accounts/${id}/deposits`, { token: alice, body: { amount: "500.00" } })
    expect(deposit.status).toBe(201)
    expect(yield* portfolio(id, deposit.body.position)).toBe("1500.00")
    expect(yield* portfolio(id, deposit.body.position)).toBe("1500.00")
    const summary = yield* server.call("GET", `/v1/accounts/${id}/summary?minPosition=${deposit.body.position}`, { token: alice })
    expect(summary.status).toBe(200)
    expect(summary.body).toMatchObject({
      accountId: id, cash: "1500.00", equity: "1500.00", realizedPnl: "0.00", unrealizedPnl: null, openPositions: 0,
      asOfPosition: deposit.body.position
    })
    return id
  })

describe("the service with LEDGERLINE_CACHE=redis", () => {
  it.live.runIf(runRedisSuites)("serves portfolios through Redis, read-your-writes, and publishes the changes to other instances", () =>
    Effect.gen(function*() {
      const prefix = yield* freshPrefix
      const server = yield* startServer({ LEDGERLINE_CACHE: "redis", REDIS_URL, LEDGERLINE_CACHE_PREFIX: prefix })
      const other = yield* Layer.build(redisLayer(prefix)) // another instance, on the same Redis
      const changes = yield* Context.get(other, LiveUpdates).subscribe("portfolios")
      const received = yield* Effect.fork(Stream.runCollect(Stream.take(changes, 2)))
      const id = yield* openAndDeposit(server, (id, readAgain) =>
        Effect.gen(function*() {
          // the service filled the cache under its prefix; a fill is best effort (one that timed
          // out on a loaded machine is skipped), so a few more reads may be needed for one to land
          const cache = Context.get(other, HotCache)
          let filled = Option.isSome(yield* cache.get(portfolioKey(id)))
          for (let i = 0; i < 10 && !filled; i++) {
            yield* readAgain
            filled = Option.isSome(yield* cache.get(portfolioKey(id)))
          }
          expect(filled).toBe(true)
        }).pipe(Effect.orDie))
      const updates = [...yield* Fiber.join(received).pipe(Effect.timeout("5 seconds"))]
      expect(updates.map((u) => u._tag === "PortfolioChanged" && [u.accountId, u.cash])).toEqual([
        [id, decimal("1000")], [id, decimal("1500")]
      ])
    }).pipe(Effect.scoped), 60_000)

  it.live("keeps answering from the read models when Redis is unreachable", () =>
    Effect.gen(function*() {
      yield* openAndDeposit(yield* startServer({ LEDGERLINE_CACHE: "redis", REDIS_URL: "redis://127.0.0.1:1" }))
    }).pipe(Effect.scoped), 60_000)
})
