import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, DateTime, Equal, Option, Schema, SchemaAST as AST } from "effect"
import { avscType, deriveAvro } from "../../../src/application/avro/AvroSchema.js"
import { directDecoder } from "../../../src/application/avro/DirectDecode.js"
import { makeEventCodec } from "../../../src/application/avro/EventCodec.js"
import { AccountEventCodec, MarketEventCodec } from "../../../src/application/avro/history.js"
import { AccountEvent, TradeExecuted } from "../../../src/domain/AccountEvents.js"
import { decimal } from "../../../src/domain/Decimal.js"
import { AccountId, CustomerId, OrderId, Symbol, TradeId } from "../../../src/domain/Ids.js"
import { MarketEvent } from "../../../src/domain/Market.js"

type AnySchema = Schema.Schema<unknown, unknown>

/** The bytes the general path writes for `value`, and what Schema decodes from the Avro value avsc reads back. */
const written = (schema: AnySchema, name: string, uuids: ReadonlyArray<Schema.Schema.Any>, value: unknown) => {
  const derived = deriveAvro(schema, name, { uuids })
  const type = avscType(derived.avro)
  const bytes = type.toBuffer(derived.toAvro(Schema.encodeSync(schema)(value)))
  return { derived, bytes, bySchema: Schema.decodeUnknownSync(schema)(derived.fromAvro(type.fromBuffer(bytes))) }
}

/** Same value, same class, same own keys in the same order as Schema's decode; and it encodes back to the same bytes. */
const expectSame = (direct: unknown, bySchema: unknown, schema: AnySchema) => {
  expect(direct).not.toBeUndefined()
  expect(direct).toEqual(bySchema) // deep: Equal.equals compares a plain array by reference
  expect(Object.getPrototypeOf(direct)).toBe(Object.getPrototypeOf(bySchema))
  expect(Reflect.ownKeys(direct as object)).toEqual(Reflect.ownKeys(bySchema as object))
  expect(Schema.encodeSync(schema)(direct)).toEqual(Schema.encodeSync(schema)(bySchema))
}

/** One direct decoder per member of an event union, derived as the codec derives it. */
const decoders = (union: { readonly ast: AST.AST }, uuids: ReadonlyArray<Schema.Schema.Any>) => {
  const byTag = new Map<string, { readonly schema: AnySchema; readonly decode: (bytes: Buffer) => unknown }>()
  for (const member of (union.ast as AST.Union).types) {
    const schema = Schema.make<unknown, unknown, never>(member)
    const tag = String(AST.getPropertySignatures(member).find((ps) => ps.name === "_tag")?.type.toString()).replace(/"/g, "")
    const decode = directDecoder(schema, deriveAvro(schema, `ledgerline.${tag}`, { uuids }).avro, new Set(uuids.map((u) => u.ast)))
    expect(decode, tag).not.toBeUndefined()
    byTag.set(tag, { schema, decode: decode! })
  }
  return byTag
}

class Refused extends Schema.TaggedError<Refused>()("Refused", { code: Schema.Literal("A", "B"), figure: Schema.BigDecimal }) {}
class Postponed extends Schema.TaggedClass<Postponed>()("Postponed", { until: Schema.DateTimeUtc }) {}

/** Every shape deriveAvro maps, in one class. */
class Sample extends Schema.TaggedClass<Sample>()("Sample", {
  id: Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(50), Schema.brand("SampleId")),
  code: Schema.TemplateLiteral("ORD-", Schema.Number),
  count: Schema.Number,
  ok: Schema.Boolean,
  side: Schema.Literal("BUY", "SELL"),
  maybeSide: Schema.NullOr(Schema.Literal("BUY", "SELL")),
  note: Schema.OptionFromNullOr(Schema.String),
  tags: Schema.Array(Schema.String),
  amount: Schema.BigDecimal,
  at: Schema.DateTimeUtc,
  extra: Schema.optional(Schema.String),
  outcome: Schema.Union(Refused, Postponed),
  previous: Schema.OptionFromNullOr(Schema.Union(Refused, Postponed)),
  history: Schema.Array(Schema.Union(Refused, Postponed)),
  detail: Schema.Struct({ level: Schema.Literal("LOW", "HIGH"), by: Schema.NullOr(Schema.String) }),
  venue: Schema.propertySignature(Schema.String).annotations({ default: "XNAS" })
}) {}

describe("direct decoding of stored events", () => {
  const uuids = [AccountId, CustomerId, OrderId, TradeId]
  const accounts = decoders(AccountEvent, uuids)
  const markets = decoders(MarketEvent, [])

  it.prop("gives what Schema gives for any account event, straight from the bytes", [Arbitrary.make(AccountEvent)], ([event]) => {
    const { decode, schema } = accounts.get(event._tag)!
    const { bySchema, bytes } = written(schema, `ledgerline.${event._tag}`, uuids, event)
    expectSame(decode(bytes), bySchema, schema)
  }, { fastCheck: { numRuns: 400 } })

  it.prop("gives what Schema gives for any market event, straight from the bytes", [Arbitrary.make(MarketEvent)], ([event]) => {
    const { decode, schema } = markets.get(event._tag)!
    const { bySchema, bytes } = written(schema, `ledgerline.${event._tag}`, [], event)
    expectSame(decode(bytes), bySchema, schema)
  }, { fastCheck: { numRuns: 200 } })

  it.prop("is what the codecs read with: their events round-trip", [Arbitrary.make(AccountEvent), Arbitrary.make(MarketEvent)], ([account, market]) => {
    const a = AccountEventCodec.encode(account)
    expect(Equal.equals(AccountEventCodec.decode(a.type, a.schemaVersion, a.data), account)).toBe(true)
    const m = MarketEventCodec.encode(market)
    expect(Equal.equals(MarketEventCodec.decode(m.type, m.schemaVersion, m.data), market)).toBe(true)
  }, { fastCheck: { numRuns: 200 } })

  it.prop("reads every shape deriveAvro maps, as Schema does", [Arbitrary.make(Sample)], ([sample]) => {
    const { bySchema, bytes, derived } = written(Sample as AnySchema, "ledgerline.Sample", [], sample)
    const decode = directDecoder(Sample as AnySchema, derived.avro, new Set())
    expect(decode).not.toBeUndefined()
    // the first goes through the constructor, the next ones through the builder made for the shape
    expectSame(decode!(bytes), bySchema, Sample as AnySchema)
    expectSame(decode!(bytes), bySchema, Sample as AnySchema)
  }, { fastCheck: { numRuns: 200 } })

  it("reads UTF-8 text, ids that are not UUIDs, a default stored as null, and an absent optional property", () => {
    const at = DateTime.unsafeMake("2026-03-02T14:32:00.125Z")
    const sample = new Sample({
      id: Schema.decodeSync(Sample.fields.id)("kunde-ü-1"), code: "ORD-7", count: -0.5, ok: false, side: "BUY", maybeSide: null,
      note: Option.some("héllo ✓ 𝄞"), tags: [], amount: decimal("-0.001"), at, outcome: new Postponed({ until: at }),
      previous: Option.none(), history: [new Refused({ code: "A", figure: decimal("12.50") })], detail: { level: "LOW", by: "é" },
      venue: "XNAS"
    })
    const { bySchema, bytes, derived } = written(Sample as AnySchema, "ledgerline.Sample", [], sample)
    const decoded = directDecoder(Sample as AnySchema, derived.avro, new Set())!(bytes) as Sample
    expectSame(decoded, bySchema, Sample as AnySchema)
    expect(decoded.note).toEqual(Option.some("héllo ✓ 𝄞"))
    expect("extra" in decoded).toBe(false)
    expect(decoded.venue).toBe("XNAS")
    // a trade's ids: a UUID as 16 bytes, a caller's own id as text
    const trade = new TradeExecuted({
      tradeId: TradeId.make("0190a6f2-7c1e-7a3b-9c4d-5e6f7a8b9c0d"), accountId: AccountId.make("ACC-ü-42"),
      orderId: OrderId.make("0190A6F2-7C1E-7A3B-9C4D-5E6F7A8B9C0D"), symbol: Symbol.make("BRK.B"), quantity: decimal("10"),
      price: decimal("412.3400"), tradeType: "SELL", executedAt: at, venue: "XLON"
    })
    const stored = AccountEventCodec.encode(trade)
    const read = AccountEventCodec.decode(stored.type, stored.schemaVersion, stored.data)
    expect(read).toBeInstanceOf(TradeExecuted)
    expect(Equal.equals(read, trade)).toBe(true)
    expect(Reflect.ownKeys(read)).toEqual(Reflect.ownKeys(trade))
    const { bySchema: tradeBySchema, bytes: tradeBytes } = written(TradeExecuted as AnySchema, "ledgerline.TradeExecuted", uuids, trade)
    expectSame(accounts.get("TradeExecuted")!.decode(tradeBytes), tradeBySchema, TradeExecuted as AnySchema)
  })

  it("makes decimals from their text exactly as Schema's step does, and leaves other spellings to it", () => {
    class Amount extends Schema.TaggedClass<Amount>()("Amount", { amount: Schema.BigDecimal }) {}
    const derived = deriveAvro(Amount, "ledgerline.Amount")
    const type = avscType(derived.avro)
    const decode = directDecoder(Amount, derived.avro, new Set())!
    for (const text of ["12.50", "-0.001", "100", "0", "-0", "0.000", "00012.300", "1.5e3", "+1", ".5", "5.", "-.5", "", "-", "1.2.3", "abc"]) {
      const bytes = type.toBuffer(derived.toAvro({ _tag: "Amount", amount: text }))
      let bySchema: Amount | undefined
      try {
        bySchema = Schema.decodeUnknownSync(Amount)(derived.fromAvro(type.fromBuffer(bytes)))
      } catch {
        bySchema = undefined
      }
      const direct = decode(bytes)
      if (bySchema === undefined) expect(direct, text).toBeUndefined()
      else {
        expect(Equal.equals(direct, bySchema), text).toBe(true)
        expect(direct, text).toEqual(bySchema) // the same BigDecimal, normalized the same way
      }
    }
  })

  it("leaves bytes it cannot read to the general path, which reads them or says what is wrong", () => {
    class Stamped extends Schema.TaggedClass<Stamped>()("Stamped", { at: Schema.DateTimeUtc, note: Schema.String }) {}
    const codec = makeEventCodec({ name: "stamped", schema: Stamped, versions: { Stamped: 1 }, history: { Stamped: {} } })
    const derived = deriveAvro(Stamped, "ledgerline.Stamped")
    const decode = directDecoder(Stamped, derived.avro, new Set())!
    const event = (millis: number) => new Stamped({ at: DateTime.unsafeMake(millis), note: "n" })
    const bytes = Buffer.from(codec.encode(event(Date.UTC(2026, 2, 2))).data)
    expect(Equal.equals(decode(bytes), event(Date.UTC(2026, 2, 2)))).toBe(true)
    // truncated, or with a byte too many
    expect(decode(bytes.subarray(0, bytes.length - 1))).toBeUndefined()
    expect(decode(Buffer.concat([bytes, Buffer.from([0])]))).toBeUndefined()
    expect(() => codec.decode("Stamped", 1, bytes.subarray(0, bytes.length - 1))).toThrow(/truncated/)
    // the ends of DateTime's range, whose zigzag longs pass 2^53, exactly
    for (const millis of [8.64e15, -8.64e15, 2 ** 52 + 1, -(2 ** 52) - 1]) {
      const far = decode(Buffer.from(codec.encode(event(millis)).data)) as Stamped
      expect(DateTime.toEpochMillis(far.at)).toBe(millis)
    }
    // a long of more than ten bytes
    expect(decode(Buffer.from([...Array(11).fill(0xff), 0x01, 0x02, 0x6e]))).toBeUndefined()
  })

  it("leaves a shape it does not know to the general path", () => {
    const Renamed = Schema.Struct({ _tag: Schema.Literal("Renamed"), total: Schema.propertySignature(Schema.String).pipe(Schema.fromKey("sum")) })
    const derived = deriveAvro(Renamed, "ledgerline.Renamed")
    expect(directDecoder(Renamed, derived.avro, new Set())).toBeUndefined()
    const codec = makeEventCodec({ name: "renamed", schema: Renamed, versions: { Renamed: 1 }, history: { Renamed: {} } })
    const encoded = codec.encode({ _tag: "Renamed", total: "12" })
    expect(codec.decode("Renamed", 1, encoded.data)).toEqual({ _tag: "Renamed", total: "12" })
  })
})
