import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { freshPrefix, REDIS_URL, runRedisSuites } from "../adapters/redis/redisTest.js"
import { type Server, startServer } from "./server.js"

/** What an SSE stream delivered so far: messages (`event` + parsed `data`) and comment lines. */
interface Received {
  readonly messages: Array<{ readonly event: string; readonly data: Record<string, unknown> }>
  readonly comments: Array<string>
}

/**
 * Opens `GET /v1/stream` with fetch and parses the frames as they arrive; closed with the scope.
 * Succeeds once the opening comment arrived, i.e. once the subscriptions are in place.
 */
const openStream = (server: Server, token: string, query = "") =>
  Effect.gen(function*() {
    const abort = new AbortController()
    yield* Effect.addFinalizer(() => Effect.sync(() => abort.abort()))
    const response = yield* Effect.promise(() =>
      fetch(`${server.url}/v1/stream${query}`, { headers: { authorization: `Bearer ${token}` }, signal: abort.signal }))
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toContain("text/event-stream")
    const received: Received = { messages: [], comments: [] }
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
    void (async () => {
      let buffer = ""
      for (;;) {
        const { done, value } = await reader.read()
        if (done) return
        buffer += value
        let end: number
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          if (frame.startsWith(": ")) received.comments.push(frame.slice(2))
          else {
            const field = (name: string) => frame.split("\n").find((l) => l.startsWith(`${name}: `))?.slice(name.length + 2) ?? ""
            received.messages.push({ event: field("event"), data: JSON.parse(field("data")) })
          }
        }
      }
    })().catch(() => undefined) // aborted at the end of the test
    yield* until("the opening comment", () => received.comments.length > 0)
    return received
  })

/** Polls `check` every 20 ms for up to 5 s. */
const until = (what: string, check: () => boolean) =>
  Effect.gen(function*() {
    const deadline = Date.now() + 5000
    while (!check()) {
      if (Date.now() > deadline) return yield* Effect.dieMessage(`timed out waiting for ${what}`)
      yield* Effect.sleep("20 millis")
    }
  })

const ofEvent = (received: Received, event: string) => received.messages.filter((m) => m.event === event).map((m) => m.data)

const scenario = (server: Server) =>
  Effect.gen(function*() {
    const { call } = server
    const alice = yield* server.token("alice", "trader")
    const bob = yield* server.token("bob", "trader")
    const risk = yield* server.token("rita", "risk")

    // authentication and validation answer in the API's error shape
    expect((yield* call("GET", "/v1/stream")).status).toBe(401)
    const bad = yield* call("GET", "/v1/stream?channels=prices,gossip", { token: alice })
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({ code: "VALIDATION" })
    expect(Object.keys((yield* call("GET", "/openapi.json")).body.paths)).toContain("/v1/stream")

    const open = (token: string, customerId: string) =>
      Effect.map(call("POST", "/v1/accounts", {
        token, body: { customerId, accountType: "INDIVIDUAL", currency: "USD", initialBalance: "1000.00" }
      }), (r) => r.body.accountId as string)
    const aliceAccount = yield* open(alice, "alice")
    const bobAccount = yield* open(bob, "bob")
    expect((yield* call("POST", "/v1/markets/ACME/open", { token: risk, body: { priceBand: "0.20", orderBand: "0.10" } })).status).toBe(200)

    const toAlice = yield* openStream(server, alice)
    const toBob = yield* openStream(server, bob)
    const toRisk = yield* openStream(server, risk, "?channels=fills")
    const onlyPrices = yield* openStream(server, bob, "?channels=prices")

    const tick = yield* call("POST", "/v1/markets/ACME/prices", { token: risk, body: { price: "100.00", timestamp: new Date().toISOString() } })
    expect(tick.status).toBe(200)
    yield* until("the price on every price stream", () => [toAlice, toBob, onlyPrices].every((r) => ofEvent(r, "PriceChanged").length > 0))
    expect(ofEvent(toAlice, "PriceChanged")).toEqual([expect.objectContaining({ symbol: "ACME", price: "100.0000" })])

    const buy = yield* call("POST", `/v1/accounts/${aliceAccount}/orders`, {
      token: alice, body: { symbol: "ACME", side: "BUY", type: "MARKET", quantity: "3" }
    })
    expect(buy.status).toBe(201)
    yield* until("alice's fill and portfolio change", () =>
      ofEvent(toAlice, "TradeFilled").length > 0 && ofEvent(toAlice, "PortfolioChanged").some((p) => p.asOfPosition === buy.body.position))
    expect(ofEvent(toAlice, "TradeFilled")).toEqual([{
      tradeId: buy.body.trade.tradeId, orderId: buy.body.orderId, accountId: aliceAccount, symbol: "ACME", side: "BUY",
      quantity: "3.00", price: "100.0000", executedAt: buy.body.trade.executedAt
    }])
    expect(ofEvent(toAlice, "PortfolioChanged").at(-1)).toMatchObject({ accountId: aliceAccount, cash: "700.00", equity: "1000.00" })
    yield* until("the fill on risk's stream", () => ofEvent(toRisk, "TradeFilled").length > 0)
    expect(toRisk.messages.map((m) => m.event)).toEqual(["TradeFilled"]) // only the channel it asked for

    // bob's own deposit reaches bob; alice's fill and portfolio never did
    const deposit = yield* call("POST", `/v1/accounts/${bobAccount}/deposits`, { token: bob, body: { amount: "5.00" } })
    yield* until("bob's portfolio change", () => ofEvent(toBob, "PortfolioChanged").some((p) => p.asOfPosition === deposit.body.position))
    expect(ofEvent(toBob, "TradeFilled")).toEqual([])
    expect(ofEvent(toBob, "PortfolioChanged").map((p) => p.accountId)).not.toContain(aliceAccount)
    expect(ofEvent(toBob, "PortfolioChanged").at(-1)).toMatchObject({ accountId: bobAccount, cash: "1005.00" })
    expect(onlyPrices.messages.map((m) => m.event)).toEqual(["PriceChanged"])

    // an idle stream gets heartbeat comments (LEDGERLINE_STREAM_HEARTBEAT is short here)
    yield* until("a heartbeat", () => onlyPrices.comments.includes("heartbeat"))
  }).pipe(Effect.scoped)

describe("live updates over Server-Sent Events", () => {
  it.live("LEDGERLINE_CACHE=memory: prices to everyone, fills and portfolio changes to their owner and to risk", () =>
    Effect.gen(function*() {
      yield* scenario(yield* startServer({ LEDGERLINE_CACHE: "memory", LEDGERLINE_STREAM_HEARTBEAT: "300 millis" }))
    }).pipe(Effect.scoped), 60_000)

  it.live.runIf(runRedisSuites)("LEDGERLINE_CACHE=redis: the same, through Redis pub/sub", () =>
    Effect.gen(function*() {
      const prefix = yield* freshPrefix
      yield* scenario(yield* startServer({
        LEDGERLINE_CACHE: "redis", REDIS_URL, LEDGERLINE_CACHE_PREFIX: prefix, LEDGERLINE_STREAM_HEARTBEAT: "300 millis"
      }))
    }).pipe(Effect.scoped), 60_000)

  it.live("without live updates (LEDGERLINE_CACHE=none) the stream is 404, in the API's error shape", () =>
    Effect.gen(function*() {
      const server = yield* startServer()
      const response = yield* server.call("GET", "/v1/stream", { token: yield* server.token("alice", "trader") })
      expect(response.status).toBe(404)
      expect(response.body).toMatchObject({ code: "NOT_FOUND", message: expect.stringContaining("LEDGERLINE_CACHE") })
    }).pipe(Effect.scoped), 60_000)
})
