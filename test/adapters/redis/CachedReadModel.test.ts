import { describe, expect, it } from "@effect/vitest"
import { DateTime, Option, Schema } from "effect"
import { PortfolioJson, portfolioKey, priceKey, touchedKeys } from "../../../src/application/CachedReadModel.js"
import { decimal } from "../../../src/domain/Decimal.js"

describe("the caching read model's JSON and keys", () => {
  it("a cached portfolio keeps every decimal exact, as a string, never a JSON number", () => {
    const at = DateTime.unsafeMake("2026-03-02T14:32:00Z")
    const row = {
      accountId: "a-1", cash: decimal("0.00000000000000001"), equity: decimal("12345678901234567890123.45"), asOfPosition: 42,
      lastUpdated: at,
      positions: [{
        symbol: "ACME", quantity: decimal("1.50"), avgCost: decimal("10.3333"), marketPrice: Option.some(decimal("10.5")),
        marketValue: Option.some(decimal("15.75")), unrealizedPnl: Option.none(), realizedPnl: decimal("-0.05"), lastUpdated: at
      }]
    }
    const json = Schema.encodeSync(PortfolioJson)(row)
    expect(JSON.parse(json)).toMatchObject({ cash: "1e-17", equity: "12345678901234567890123.45", positions: [{ quantity: "1.5", unrealizedPnl: null }] })
    expect(Schema.decodeSync(PortfolioJson)(json)).toEqual(row)
    expect(Option.isNone(Schema.decodeOption(PortfolioJson)(json.replace("\"1.5\"", "1.5")))).toBe(true)
  })

  it("a commit touches the portfolio of every account it writes and the price of every symbol it marks", () => {
    const at = DateTime.unsafeMake(0)
    expect(touchedKeys({
      removedPositions: [{ accountId: "b", symbol: "ACME" }],
      prices: [{ symbol: "ACME", price: decimal("1"), at }],
      balances: [{ accountId: "c", date: "2026-03-02", cash: decimal("1"), equity: decimal("1") }]
    })).toEqual([portfolioKey("b"), priceKey("ACME")])
    expect(touchedKeys({ trades: [], bars: [] })).toEqual([])
  })
})
