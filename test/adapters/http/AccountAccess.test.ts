import { HttpApiBuilder, HttpServer } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import * as Memory from "../../../src/adapters/memory/index.js"
import * as Auth from "../../../src/adapters/http/Auth.js"
import { ApiLive, ErrorShapeLive } from "../../../src/adapters/http/Server.js"
import * as TradingAccounts from "../../../src/application/TradingAccounts.js"
import { decimal } from "../../../src/domain/Decimal.js"
import { AccountId, Currency, CustomerId } from "../../../src/domain/Ids.js"

const SECRET = Redacted.make("access-test-secret-that-is-long-enough")

/**
 * The HTTP API in this process over one fresh in-memory store, which the test can also reach
 * directly (as another process writing to the same store would).
 */
const api = Effect.gen(function*() {
  const stores = yield* Layer.build(Memory.layer)
  const app = Layer.mergeAll(ApiLive("memory"), ErrorShapeLive, HttpServer.layerContext).pipe(
    Layer.provide(Layer.succeed(Auth.JwtSecret, SECRET)),
    Layer.provide(Layer.succeedContext(stores))
  )
  const { dispose, handler } = HttpApiBuilder.toWebHandler(app)
  yield* Effect.addFinalizer(() => Effect.promise(dispose))
  const call = (method: string, path: string, user: string, role: Auth.Role, body?: unknown) =>
    Effect.promise(async () => {
      const token = await Auth.sign(SECRET, user, [role])
      const response = await handler(new Request(`http://localhost${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) })
      }))
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the tests read JSON bodies field by field
      return { status: response.status, body: (await response.json()) as any }
    })
  /** Runs an effect on the same store, outside HTTP. */
  const direct = <A, E>(effect: Effect.Effect<A, E, Layer.Layer.Success<typeof Memory.layer>>) => Effect.provide(effect, stores)
  return { call, direct }
})

const openFor = (customer: string) =>
  TradingAccounts.openAccount({
    customerId: CustomerId.make(customer), accountType: "INDIVIDUAL", currency: Currency.make("USD"), initialBalance: decimal("1000")
  })

const buy = { symbol: "ACME", side: "BUY", type: "LIMIT", quantity: "1", limitPrice: "10" }

describe("account access over HTTP", () => {
  it.scoped("an unknown account is 404 for every role and every route, before and after known accounts are remembered", () =>
    Effect.gen(function*() {
      const { call } = yield* api
      const opened = yield* call("POST", "/v1/accounts", "alice", "trader", {
        customerId: "alice", accountType: "INDIVIDUAL", currency: "USD", initialBalance: "100.00"
      })
      expect(opened.status).toBe(201)
      expect((yield* call("POST", `/v1/accounts/${opened.body.accountId}/deposits`, "alice", "trader", { amount: "1" })).status).toBe(201)
      for (const [user, role] of [["alice", "trader"], ["rita", "risk"], ["audrey", "auditor"], ["root", "admin"]] as const) {
        for (const [method, path, body] of [
          ["GET", "/v1/accounts/no-such-account", undefined],
          ["POST", "/v1/accounts/no-such-account/orders", buy],
          ["POST", "/v1/accounts/no-such-account/deposits", { amount: "1" }],
          ["GET", "/v1/accounts/no-such-account/events", undefined]
        ] as const) {
          const answer = yield* call(method, path, user, role, body)
          expect(answer.status, `${role} ${method} ${path}`).toBe(404)
          expect(answer.body).toEqual({ code: "NOT_FOUND", message: "no account no-such-account" })
        }
      }
    }))

  it.scoped("an account opened elsewhere is found at once: unknown ids are not remembered", () =>
    Effect.gen(function*() {
      const { call, direct } = yield* api
      const id = "0194f7c2-0000-7000-8000-000000000001"
      expect((yield* call("POST", `/v1/accounts/${id}/deposits`, "bob", "trader", { amount: "5" })).status).toBe(404)
      yield* direct(TradingAccounts.openAccount({
        accountId: AccountId.make(id), customerId: CustomerId.make("bob"), accountType: "INDIVIDUAL", currency: Currency.make("USD"),
        initialBalance: decimal("10")
      }))
      expect((yield* call("POST", `/v1/accounts/${id}/deposits`, "bob", "trader", { amount: "5" })).status).toBe(201)
      expect((yield* call("GET", `/v1/accounts/${id}`, "bob", "trader")).body).toMatchObject({ customerId: "bob", cash: "15.00" })
    }))

  it.scoped("only the owner trades; risk and auditor read; a remembered owner stays the rule", () =>
    Effect.gen(function*() {
      const { call, direct } = yield* api
      const { accountId } = yield* direct(openFor("alice"))
      for (let round = 0; round < 2; round++) {
        expect((yield* call("POST", `/v1/accounts/${accountId}/deposits`, "alice", "trader", { amount: "1" })).status).toBe(201)
        const bob = yield* call("POST", `/v1/accounts/${accountId}/deposits`, "bob", "trader", { amount: "1" })
        expect(bob.status).toBe(403)
        expect(bob.body).toEqual({ code: "FORBIDDEN", message: `not allowed to trade on account ${accountId}` })
        expect((yield* call("GET", `/v1/accounts/${accountId}/events`, "bob", "trader")).status).toBe(403)
        expect((yield* call("GET", `/v1/accounts/${accountId}`, "bob", "trader")).status).toBe(403)
        expect((yield* call("GET", `/v1/accounts/${accountId}/events`, "rita", "risk")).status).toBe(200)
        expect((yield* call("GET", `/v1/accounts/${accountId}`, "audrey", "auditor")).status).toBe(200)
        expect((yield* call("POST", `/v1/accounts/${accountId}/deposits`, "audrey", "auditor", { amount: "1" })).status).toBe(403)
        expect((yield* call("POST", `/v1/accounts/${accountId}/deposits`, "root", "admin", { amount: "1" })).status).toBe(201)
      }
    }))

  it.scoped("GET /v1/accounts/{id} reads the event store: a write made outside this API shows at once", () =>
    Effect.gen(function*() {
      const { call, direct } = yield* api
      const { accountId } = yield* direct(openFor("alice"))
      expect((yield* call("GET", `/v1/accounts/${accountId}`, "alice", "trader")).body).toMatchObject({ cash: "1000.00", version: 1 })
      yield* direct(TradingAccounts.depositFunds(accountId, decimal("250")))
      expect((yield* call("GET", `/v1/accounts/${accountId}`, "alice", "trader")).body).toMatchObject({ cash: "1250.00", version: 2 })
    }))

  it.scoped("a refusal's details are its own fields, decimals as strings", () =>
    Effect.gen(function*() {
      const { call, direct } = yield* api
      const { accountId } = yield* direct(openFor("alice"))
      const refused = yield* call("POST", `/v1/accounts/${accountId}/withdrawals`, "alice", "trader", { amount: "5000" })
      expect(refused.status).toBe(422)
      expect(refused.body).toEqual({
        code: "INSUFFICIENT_FUNDS", message: "Available cash does not cover the amount", details: { requested: "5000", available: "1000" }
      })
    }))
})
