import { expect } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as Auth from "../../src/adapters/http/Auth.js"
import { SECRET, type Server } from "./server.js"

/** One trading day over HTTP, as a desk would drive it; every assertion is on the wire format. */
export const tradingDay = (server: Server) =>
  Effect.gen(function*() {
    const { call } = server
    const alice = yield* server.token("alice", "trader")
    const bob = yield* server.token("bob", "trader")
    const risk = yield* server.token("rita", "risk")
    const auditor = yield* server.token("audrey", "auditor")

    // the service describes itself
    expect((yield* call("GET", "/health")).body).toMatchObject({ status: "ok" })
    const openapi = yield* call("GET", "/openapi.json")
    expect(Object.keys(openapi.body.paths)).toContain("/v1/accounts/{id}/orders")
    expect((yield* call("GET", "/docs")).status).toBe(200)

    // authentication and roles
    expect((yield* call("GET", "/v1/markets/ACME")).status).toBe(401)
    expect((yield* call("GET", "/v1/markets/ACME", { token: "not-a-jwt" })).body).toMatchObject({ code: "UNAUTHORIZED" })
    const expired = yield* Effect.promise(() => Auth.sign(Redacted.make(SECRET), "alice", ["trader"], -60))
    expect((yield* call("GET", "/v1/markets/ACME", { token: expired })).status).toBe(401)
    const forged = yield* Effect.promise(() => Auth.sign(Redacted.make("some other secret, just as long"), "alice", ["admin"]))
    expect((yield* call("GET", "/v1/markets/ACME", { token: forged })).status).toBe(401)
    expect((yield* call("POST", "/v1/markets/ACME/open", { token: alice, body: {} })).status).toBe(403)

    // risk opens the market and a price arrives
    expect((yield* call("POST", "/v1/markets/ACME/open", { token: risk, body: { priceBand: "0.20", orderBand: "0.10" } })).status).toBe(200)
    const tick = yield* call("POST", "/v1/markets/ACME/prices", { token: risk, body: { price: "100.00", timestamp: "2026-03-02T14:30:00Z" } })
    expect(tick.body).toMatchObject({ symbol: "ACME", events: ["PriceUpdated"] })
    expect((yield* call("GET", "/v1/markets/ACME", { token: alice })).body).toEqual({
      symbol: "ACME", status: "OPEN", lastPrice: "100.0000", lastUpdated: "2026-03-02T14:30:00.000Z"
    })

    // alice opens an account, idempotently
    const openBody = { customerId: "alice", accountType: "INDIVIDUAL", currency: "USD", initialBalance: "1000.00" }
    const opened = yield* call("POST", "/v1/accounts", { token: alice, body: openBody, headers: { "idempotency-key": "open-1" } })
    expect(opened.status).toBe(201)
    expect(opened.body).toMatchObject({ version: 1 })
    const again = yield* call("POST", "/v1/accounts", { token: alice, body: openBody, headers: { "idempotency-key": "open-1" } })
    expect(again.body).toEqual(opened.body)
    const id = opened.body.accountId as string
    expect((yield* call("POST", "/v1/accounts", { token: alice, body: { ...openBody, customerId: "bob" } })).status).toBe(403)

    // money is a decimal string: a JSON number is a 400 naming the field
    const bad = yield* call("POST", `/v1/accounts/${id}/deposits`, { token: alice, body: { amount: 10.5 } })
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({ code: "VALIDATION", details: [{ field: "amount" }] })
    const negative = yield* call("POST", `/v1/accounts/${id}/deposits`, { token: alice, body: { amount: "-5" } })
    expect(negative.status).toBe(422)
    expect(negative.body).toMatchObject({ code: "INVALID_AMOUNT", details: { field: "amount", value: "-5", problem: "NOT_POSITIVE" } })

    const deposit = yield* call("POST", `/v1/accounts/${id}/deposits`, {
      token: alice, body: { amount: "500.00" }, headers: { "idempotency-key": "dep-1", "x-correlation-id": "corr-42" }
    })
    expect(deposit.status).toBe(201)
    expect((yield* call("POST", `/v1/accounts/${id}/deposits`, { token: alice, body: { amount: "500.00" }, headers: { "idempotency-key": "dep-1" } })).body)
      .toEqual(deposit.body)

    // bob may not touch alice's account; the auditor may read it but not write
    expect((yield* call("GET", `/v1/accounts/${id}`, { token: bob })).status).toBe(403)
    expect((yield* call("GET", `/v1/accounts/${id}`, { token: auditor })).status).toBe(200)
    expect((yield* call("POST", `/v1/accounts/${id}/deposits`, { token: auditor, body: { amount: "1.00" } })).status).toBe(403)
    expect((yield* call("GET", "/v1/accounts/no-such-account", { token: auditor })).status).toBe(404)

    // a MARKET buy fills at the last price
    const buy = yield* call("POST", `/v1/accounts/${id}/orders`, { token: alice, body: { symbol: "ACME", side: "BUY", type: "MARKET", quantity: "10" } })
    expect(buy.status).toBe(201)
    expect(buy.body).toMatchObject({ status: "FILLED", trade: { quantity: "10.00", price: "100.0000" } })

    // a sale beyond the position is refused, and the refusal is on the record
    const oversell = yield* call("POST", `/v1/accounts/${id}/orders`, { token: alice, body: { symbol: "ACME", side: "SELL", type: "MARKET", quantity: "11" } })
    expect(oversell.status).toBe(422)
    expect(oversell.body).toMatchObject({ code: "INSUFFICIENT_POSITION" })

    // a LIMIT buy below the market rests, reserving cash, and can be cancelled
    const rest = yield* call("POST", `/v1/accounts/${id}/orders`, {
      token: alice, body: { symbol: "ACME", side: "BUY", type: "LIMIT", quantity: "5", limitPrice: "95.00" }
    })
    expect(rest.body).toMatchObject({ status: "OPEN" })
    const account = yield* call("GET", `/v1/accounts/${id}`, { token: alice })
    expect(account.body).toMatchObject({ cash: "500.00", availableCash: "25.00", status: "OPEN", customerId: "alice" })
    const cancelled = yield* call("DELETE", `/v1/accounts/${id}/orders/${rest.body.orderId}`, { token: alice })
    expect(cancelled.status).toBe(200)
    expect((yield* call("DELETE", `/v1/accounts/${id}/orders/${rest.body.orderId}`, { token: alice })).body).toMatchObject({ code: "ORDER_NOT_FOUND" })

    // risk sets limits; the audit trail has every fact with who did it
    expect((yield* call("PUT", `/v1/accounts/${id}/risk-limits`, { token: risk, body: { maxOrderNotional: "100.00" } })).status).toBe(200)
    const tooBig = yield* call("POST", `/v1/accounts/${id}/orders`, { token: alice, body: { symbol: "ACME", side: "BUY", type: "MARKET", quantity: "2" } })
    expect(tooBig.body).toMatchObject({ code: "MAX_ORDER_NOTIONAL_EXCEEDED" })
    const trail = yield* call("GET", `/v1/accounts/${id}/events?limit=100`, { token: auditor })
    const types = (trail.body.items as Array<{ type: string }>).map((e) => e.type)
    expect(types).toEqual([
      "AccountOpened", "FundsDeposited", "OrderPlaced", "TradeExecuted", "OrderRejected", "OrderPlaced", "OrderCancelled",
      "RiskLimitsSet", "OrderRejected"
    ])
    const depositEvent = trail.body.items[1]
    expect(depositEvent.metadata).toMatchObject({ userId: "alice", correlationId: "corr-42", commandId: "alice/dep-1" })
    expect(depositEvent.data).toMatchObject({ amount: "500" })

    // the read side: read-your-writes on the portfolio, marked to the latest price
    const limitsOff = yield* call("PUT", `/v1/accounts/${id}/risk-limits`, { token: risk, body: {} })
    const portfolio = yield* call("GET", `/v1/accounts/${id}/portfolio?minPosition=${limitsOff.body.position}`, { token: alice })
    expect(portfolio.status).toBe(200)
    expect(portfolio.body).toMatchObject({
      accountId: id, cash: "500.00", equity: "1500.00",
      positions: [{ symbol: "ACME", quantity: "10.00", avgCost: "100.0000", marketPrice: "100.0000", marketValue: "1000.00", unrealizedPnl: "0.00", realizedPnl: "0.00" }]
    })
    const uptick = yield* call("POST", "/v1/markets/ACME/prices", { token: risk, body: { price: "101.25", timestamp: "2026-03-02T14:31:00Z" } })
    const marked = yield* call("GET", `/v1/accounts/${id}/portfolio?minPosition=${uptick.body.position}`, { token: alice })
    expect(marked.body.positions[0]).toMatchObject({ marketPrice: "101.2500", marketValue: "1012.50", unrealizedPnl: "12.50" })
    expect(marked.body.equity).toBe("1512.50")
    const notYet = yield* call("GET", `/v1/accounts/${id}/portfolio?minPosition=999999`, { token: alice })
    expect(notYet.status).toBe(503)
    expect(notYet.body).toMatchObject({ code: "NOT_YET_PROJECTED" })
    expect(notYet.headers.get("retry-after")).toBe("1")

    // the same state folded from the events, as of now, and nothing before the account existed
    const now = new Date().toISOString()
    const asOfNow = yield* call("GET", `/v1/accounts/${id}/portfolio?at=${now}`, { token: alice })
    expect(asOfNow.body).toMatchObject({ cash: "500.00", equity: "1512.50", positions: [{ quantity: "10.00", marketValue: "1012.50" }] })
    expect((yield* call("GET", `/v1/accounts/${id}/portfolio?at=2000-01-01T00:00:00Z`, { token: alice })).status).toBe(404)

    // trade history, newest first, with keyset pagination
    const sell = yield* call("POST", `/v1/accounts/${id}/orders`, { token: alice, body: { symbol: "ACME", side: "SELL", type: "MARKET", quantity: "2" } })
    expect(sell.body).toMatchObject({ status: "FILLED", trade: { price: "101.2500" } })
    const first = yield* call("GET", `/v1/accounts/${id}/trades?limit=1&minPosition=${sell.body.position}`, { token: alice })
    expect(first.body.items).toMatchObject([{ side: "SELL", quantity: "2.00", price: "101.2500", symbol: "ACME" }])
    expect(first.body.nextCursor).toEqual(expect.any(String))
    const second = yield* call("GET", `/v1/accounts/${id}/trades?limit=1&cursor=${first.body.nextCursor}`, { token: alice })
    expect(second.body).toMatchObject({ items: [{ side: "BUY", quantity: "10.00", price: "100.0000" }], nextCursor: null })
    expect((yield* call("GET", `/v1/accounts/${id}/trades?cursor=forged`, { token: alice })).body).toMatchObject({ code: "VALIDATION" })

    // end-of-day balances
    const today = new Date().toISOString().slice(0, 10)
    const history = yield* call("GET", `/v1/accounts/${id}/balance-history?from=${today}&to=${today}&interval=day`, { token: alice })
    expect(history.status).toBe(200)
    expect(history.body).toEqual([{ date: today, cash: "702.50", equity: "1512.50" }])

    // and the log verifies
    expect((yield* call("GET", "/v1/audit/verify", { token: alice })).status).toBe(403)
    expect((yield* call("GET", "/v1/audit/verify", { token: auditor })).body).toMatchObject({ ok: true })
  })
