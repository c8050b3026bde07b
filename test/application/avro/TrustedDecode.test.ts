import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, BigDecimal, DateTime, Equal, Option, Schema } from "effect"
import { trustedDecoder } from "../../../src/application/avro/TrustedDecode.js"
import { AccountEvent } from "../../../src/domain/AccountEvents.js"
import { MarketEvent } from "../../../src/domain/Market.js"

/** Same value, same class, same own keys in the same order: what the constructor would have made. */
const sameAsSchema = <A, I>(schema: Schema.Schema<A, I>, decode: (i: I) => A, value: A) => {
  const encoded = Schema.encodeSync(schema)(value)
  const bySchema = Schema.decodeUnknownSync(schema)(encoded)
  const trusted = decode(encoded)
  expect(Equal.equals(trusted, bySchema)).toBe(true)
  expect(Object.getPrototypeOf(trusted)).toBe(Object.getPrototypeOf(bySchema))
  expect(Reflect.ownKeys(trusted as object)).toEqual(Reflect.ownKeys(bySchema as object))
  expect(Schema.encodeSync(schema)(trusted)).toEqual(encoded)
  return trusted
}

describe("trusted decoding of stored events", () => {
  // one decoder for every run: the first instance of each class goes through its constructor, the rest are built alike
  const decodeAccount = trustedDecoder(AccountEvent)
  const decodeMarket = trustedDecoder(MarketEvent)

  it.prop("gives what Schema gives for any account event", [Arbitrary.make(AccountEvent)], ([event]) => {
    const decoded = sameAsSchema(AccountEvent, decodeAccount, event)
    // refusals are errors: they keep their constructor, and with it a stack
    if (decoded._tag === "OrderRejected") expect(decoded.reason).toBeInstanceOf(Error)
  }, { fastCheck: { numRuns: 400 } })

  it.prop("gives what Schema gives for any market event", [Arbitrary.make(MarketEvent)], ([event]) => {
    sameAsSchema(MarketEvent, decodeMarket, event)
  }, { fastCheck: { numRuns: 200 } })

  it("applies transformations but not checks the stored value passed when it was made", () => {
    class Note extends Schema.TaggedClass<Note>()("Note", {
      text: Schema.String.pipe(Schema.maxLength(3)),
      amount: Schema.BigDecimal,
      at: Schema.DateTimeUtc,
      ref: Schema.OptionFromNullOr(Schema.String)
    }) {}
    const encoded = { _tag: "Note" as const, text: "longer than three", amount: "1.50", at: "2026-03-02T14:32:00.000Z", ref: null }
    expect(() => Schema.decodeUnknownSync(Note)(encoded)).toThrow(/maxLength|at most 3/)
    const note = trustedDecoder(Note)(encoded)
    expect(note).toBeInstanceOf(Note)
    expect(note.text).toBe("longer than three")
    expect(BigDecimal.format(note.amount)).toBe("1.5")
    expect(DateTime.formatIso(note.at)).toBe("2026-03-02T14:32:00.000Z")
    expect(note.ref).toEqual(Option.none())
  })
})
