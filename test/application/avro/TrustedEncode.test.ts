import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, BigDecimal, DateTime, Option, Schema } from "effect"
import { trustedEncoder } from "../../../src/application/avro/TrustedEncode.js"
import { AccountEvent } from "../../../src/domain/AccountEvents.js"
import { MarketEvent } from "../../../src/domain/Market.js"

describe("trusted encoding of decided events", () => {
  const encodeAccount = trustedEncoder(AccountEvent)
  const encodeMarket = trustedEncoder(MarketEvent)

  it.prop("gives what Schema gives for any account event", [Arbitrary.make(AccountEvent)], ([event]) => {
    expect(encodeAccount(event)).toStrictEqual(Schema.encodeSync(AccountEvent)(event))
  }, { fastCheck: { numRuns: 400 } })

  it.prop("gives what Schema gives for any market event", [Arbitrary.make(MarketEvent)], ([event]) => {
    expect(encodeMarket(event)).toStrictEqual(Schema.encodeSync(MarketEvent)(event))
  }, { fastCheck: { numRuns: 200 } })

  it("applies transformations but not checks the value passed when it was made", () => {
    class Note extends Schema.TaggedClass<Note>()("Note", {
      text: Schema.String.pipe(Schema.maxLength(3)),
      amount: Schema.BigDecimal,
      at: Schema.DateTimeUtc,
      ref: Schema.OptionFromNullOr(Schema.String)
    }) {}
    const note = new Note({ text: "longer than three", amount: BigDecimal.unsafeFromString("1.50"), at: DateTime.unsafeMake("2026-03-02T14:32:00Z"), ref: Option.none() }, true)
    expect(() => Schema.encodeSync(Note)(note)).toThrow(/maxLength|at most 3/)
    expect(trustedEncoder(Note)(note)).toStrictEqual({ _tag: "Note", text: "longer than three", amount: "1.5", at: "2026-03-02T14:32:00.000Z", ref: null })
  })
})
