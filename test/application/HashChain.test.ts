import { describe, expect, it } from "@effect/vitest"
import { DateTime } from "effect"
import { GENESIS, link } from "../../src/application/HashChain.js"

/**
 * Known answers: links computed by the first framing (a Buffer per field, concatenated). Every
 * stored chain depends on these bytes, so a faster framing must give the same links, for
 * non-ASCII text and for fields larger than the framing's reused buffer alike.
 */
describe("HashChain.link", () => {
  const first = {
    position: 1, eventId: "0190a000-0000-7000-8000-000000000001", aggregateId: "TradingAccount-ü€𝄞", version: 1,
    type: "TradeExecuted", schemaVersion: 3, timestamp: DateTime.unsafeMake(1_767_225_600_123), data: new Uint8Array([1, 2, 3]),
    metadata: { userId: "user-é", correlationId: "corr", causationId: "cause", commandId: "cmd" }
  }
  const second = {
    ...first, position: 2, version: 2, aggregateId: "x".repeat(5000), data: new Uint8Array(10_000).map((_, i) => (i * 31) % 256)
  }
  const h1 = "66e2a9f7232b6453d2d9705bd742e63c754ff1852cfccd25b8a7711bb46688b6"
  const h2 = "60c7d2a8f7c847ae11b62ae586f08afc9423f15cb4a0067adfd5ca9dae9616ae"

  it("gives the links the first framing gave, multi-byte characters and large fields included", () => {
    expect(link(GENESIS, first)).toBe(h1)
    expect(link(h1, second)).toBe(h2)
    // and again after the large one grew the buffer
    expect(link(GENESIS, first)).toBe(h1)
  })

  it("changes with any field", () => {
    expect(link(GENESIS, { ...first, metadata: { ...first.metadata, causationId: "other" } })).not.toBe(h1)
    expect(link(GENESIS, { ...first, data: new Uint8Array([1, 2, 4]) })).not.toBe(h1)
  })
})
