import { describe, expect, it } from "@effect/vitest"
import { DateTime, Option, Schema } from "effect"
import { avscType, deriveAvro } from "../../../src/application/avro/AvroSchema.js"
import { decimal } from "../../../src/domain/Decimal.js"

class Refused extends Schema.TaggedError<Refused>()("Refused", { code: Schema.Literal("A", "B"), figure: Schema.BigDecimal }) {}
class Postponed extends Schema.TaggedError<Postponed>()("Postponed", { until: Schema.DateTimeUtc }) {}

class Sample extends Schema.TaggedClass<Sample>()("Sample", {
  id: Schema.NonEmptyTrimmedString.pipe(Schema.maxLength(50), Schema.brand("SampleId")),
  code: Schema.TemplateLiteral("ORD-", Schema.Number),
  count: Schema.Number,
  ok: Schema.Boolean,
  side: Schema.Literal("BUY", "SELL"),
  note: Schema.OptionFromNullOr(Schema.String),
  tags: Schema.Array(Schema.String),
  amount: Schema.BigDecimal,
  at: Schema.DateTimeUtc,
  extra: Schema.optional(Schema.String),
  outcome: Schema.Union(Refused, Postponed),
  previous: Schema.OptionFromNullOr(Schema.Union(Refused, Postponed)),
  history: Schema.Array(Schema.Union(Refused, Postponed)),
  detail: Schema.Struct({ level: Schema.Literal("LOW", "HIGH"), by: Schema.NullOr(Schema.String) })
}) {}

const at = DateTime.unsafeMake("2026-03-02T14:32:00.125Z")
const sample = new Sample({
  id: Schema.decodeSync(Sample.fields.id)("s-1"),
  code: "ORD-42",
  count: 1.5,
  ok: true,
  side: "SELL",
  note: Option.some("hello"),
  tags: ["a", "b"],
  amount: decimal("1500.25"),
  at,
  outcome: new Refused({ code: "B", figure: decimal("0.0001") }),
  previous: Option.some(new Postponed({ until: at })),
  history: [new Postponed({ until: at }), new Refused({ code: "A", figure: decimal("-3") })],
  detail: { level: "HIGH", by: null }
})

const derived = deriveAvro(Sample, "ledgerline.Sample")
const timestampMillis = { type: "long", logicalType: "timestamp-millis" }

describe("deriveAvro", () => {
  it("maps the encoded side of each kind of property to its Avro type, in property order", () => {
    const refused = {
      type: "record", name: "ledgerline.outcome.Refused", fields: [
        { name: "code", type: { type: "enum", name: "ledgerline.outcome.Refused.code", symbols: ["A", "B"] } },
        { name: "figure", type: "string" }
      ]
    }
    const postponed = { type: "record", name: "ledgerline.outcome.Postponed", fields: [{ name: "until", type: timestampMillis }] }
    expect(derived.tag).toBe("Sample")
    expect(derived.avro).toEqual({
      type: "record",
      name: "ledgerline.Sample",
      fields: [
        { name: "id", type: "string" },
        { name: "code", type: "string" },
        { name: "count", type: "double" },
        { name: "ok", type: "boolean" },
        { name: "side", type: { type: "enum", name: "ledgerline.Sample.side", symbols: ["BUY", "SELL"] } },
        { name: "note", type: ["null", "string"], default: null },
        { name: "tags", type: { type: "array", items: "string" } },
        { name: "amount", type: "string" },
        { name: "at", type: timestampMillis },
        { name: "extra", type: ["null", "string"], default: null },
        { name: "outcome", type: [refused, postponed] },
        {
          name: "previous",
          type: ["null", { ...refused, name: "ledgerline.previous.Refused", fields: [
            { name: "code", type: { type: "enum", name: "ledgerline.previous.Refused.code", symbols: ["A", "B"] } },
            { name: "figure", type: "string" }
          ] }, { ...postponed, name: "ledgerline.previous.Postponed" }],
          default: null
        },
        {
          name: "history",
          type: { type: "array", items: [
            { ...refused, name: "ledgerline.history.Refused", fields: [
              { name: "code", type: { type: "enum", name: "ledgerline.history.Refused.code", symbols: ["A", "B"] } },
              { name: "figure", type: "string" }
            ] },
            { ...postponed, name: "ledgerline.history.Postponed" }
          ] }
        },
        {
          name: "detail",
          type: { type: "record", name: "ledgerline.Sample.detail", fields: [
            { name: "level", type: { type: "enum", name: "ledgerline.Sample.detail.level", symbols: ["LOW", "HIGH"] } },
            { name: "by", type: ["null", "string"], default: null }
          ] }
        }
      ]
    })
  })

  it("converts both ways, through avsc, restoring the _tags and leaving decimals as exact strings", () => {
    const type = avscType(derived.avro)
    const encoded = Schema.encodeSync(Sample)(sample)
    const value = type.fromBuffer(type.toBuffer(derived.toAvro(encoded)))
    expect(value.amount).toBe("1500.25")
    expect(value.at).toBe("2026-03-02T14:32:00.125Z") // a long on the wire, ISO text either side of it
    expect(value.outcome).toEqual({ "ledgerline.outcome.Refused": { code: "B", figure: "0.0001" } })
    expect(derived.fromAvro(value)).toEqual(encoded)
    expect(Schema.decodeUnknownSync(Sample)(derived.fromAvro(value))).toEqual(sample)
  })

  it("leaves an absent optional property absent, and carries none as null", () => {
    const type = avscType(derived.avro)
    const bare = new Sample({ ...sample, extra: "x", note: Option.none(), previous: Option.none(), history: [] })
    const { extra: _, ...withoutExtra } = Schema.encodeSync(Sample)(bare)
    const value = type.fromBuffer(type.toBuffer(derived.toAvro(withoutExtra)))
    expect(value.extra).toBeNull()
    expect(value.note).toBeNull()
    expect(derived.fromAvro(value)).toEqual(withoutExtra)
    expect("extra" in (derived.fromAvro(value) as object)).toBe(false)
  })

  it("takes a property's Avro default from its default annotation, encoded", () => {
    class Defaulted extends Schema.TaggedClass<Defaulted>()("Defaulted", {
      venue: Schema.propertySignature(Schema.String).annotations({ default: "XNAS", description: "Where it traded." }),
      fee: Schema.propertySignature(Schema.BigDecimal).annotations({ default: decimal("0.25") }),
      rebate: Schema.propertySignature(Schema.OptionFromNullOr(Schema.BigDecimal)).annotations({ default: Option.some(decimal("1")) }),
      kind: Schema.Literal("X", "Y").annotations({ default: "Y" })
    }) {}
    const { avro, docs } = deriveAvro(Defaulted, "ledgerline.Defaulted")
    expect(avro.fields).toEqual([
      // written as null when they hold their default, which bytes without the field also read as
      { name: "venue", type: ["null", "string"], default: null, nullMeans: "XNAS" },
      { name: "fee", type: ["null", "string"], default: null, nullMeans: "0.25" },
      // null is taken (none): Avro takes a union's default from its first branch
      { name: "rebate", type: ["string", "null"], default: "1" },
      { name: "kind", type: ["null", { type: "enum", name: "ledgerline.Defaulted.kind", symbols: ["X", "Y"] }], default: null, nullMeans: "Y" }
    ])
    expect(docs["ledgerline.Defaulted"]?.fields).toEqual({ venue: "Where it traded." })
    const { toAvro, fromAvro } = deriveAvro(Defaulted, "ledgerline.Defaulted")
    const type = avscType(avro)
    const roundTrip = (value: Defaulted) => {
      const encoded = Schema.encodeSync(Defaulted)(value)
      const written = type.toBuffer(toAvro(encoded))
      expect(fromAvro(type.fromBuffer(written))).toEqual(encoded)
      return written.byteLength
    }
    const defaults = new Defaulted({ venue: "XNAS", fee: decimal("0.250"), rebate: Option.some(decimal("1")), kind: "Y" })
    expect(roundTrip(defaults)).toBe(1 + 1 + 3 + 1) // venue, fee and kind one null byte each; rebate "1" after its branch
    expect(type.fromBuffer(type.toBuffer(toAvro(Schema.encodeSync(Defaulted)(defaults)))).venue).toBeNull()
    expect(roundTrip(new Defaulted({ venue: "XLON", fee: decimal("0.26"), rebate: Option.none(), kind: "X" }))).toBe(6 + 6 + 1 + 2)
  })

  it("writes instants as timestamp-millis longs, exactly over DateTime's whole range", () => {
    class Stamped extends Schema.TaggedClass<Stamped>()("Stamped", { at: Schema.DateTimeUtc, maybe: Schema.OptionFromNullOr(Schema.DateTimeUtc) }) {}
    const { avro, toAvro, fromAvro } = deriveAvro(Stamped, "ledgerline.Stamped")
    expect(avro.fields).toEqual([
      { name: "at", type: timestampMillis },
      { name: "maybe", type: ["null", timestampMillis], default: null }
    ])
    const type = avscType(avro)
    // avsc's own long is exact only to ±2^52; instants go to ±8.64e15 ms
    for (const millis of [0, 1, -1, 2 ** 52 - 1, 2 ** 52 + 1, -(2 ** 52) - 1, 8.64e15, -8.64e15, Date.UTC(2026, 2, 2, 14, 32, 0, 125)]) {
      const value = new Stamped({ at: DateTime.unsafeMake(millis), maybe: Option.some(DateTime.unsafeMake(-millis)) })
      const encoded = Schema.encodeSync(Stamped)(value)
      const read = Schema.decodeUnknownSync(Stamped)(fromAvro(type.fromBuffer(type.toBuffer(toAvro(encoded)))))
      expect(DateTime.toEpochMillis(read.at), String(millis)).toBe(millis)
      expect(read).toEqual(value)
    }
    expect(type.toBuffer(toAvro(Schema.encodeSync(Stamped)(new Stamped({ at, maybe: Option.none() })))).byteLength).toBe(6 + 1)
    // an older version that wrote instants as text reads into it
    const before = avscType({ type: "record", name: "ledgerline.Stamped", fields: [
      { name: "at", type: "string" }, { name: "maybe", type: ["null", "string"], default: null }
    ] })
    const old = before.toBuffer({ at: "2026-03-02T14:32:00.125Z", maybe: "1970-01-01T00:00:00.000Z" })
    expect(fromAvro(type.fromBuffer(old, type.createResolver(before))))
      .toEqual({ _tag: "Stamped", at: "2026-03-02T14:32:00.125Z", maybe: "1970-01-01T00:00:00.000Z" })
  })

  it("writes the ids named in `uuids` as 16 bytes when they are canonical UUIDs, as text otherwise", () => {
    const OrderRef = Schema.NonEmptyTrimmedString.pipe(Schema.brand("OrderRef"))
    class Referenced extends Schema.TaggedClass<Referenced>()("Referenced", {
      order: OrderRef,
      previous: Schema.OptionFromNullOr(OrderRef),
      others: Schema.Array(OrderRef),
      label: Schema.NonEmptyTrimmedString.pipe(Schema.brand("Label"))
    }) {}
    const { avro, toAvro, fromAvro } = deriveAvro(Referenced, "ledgerline.Referenced", { uuids: [OrderRef] })
    const fixed = { type: "fixed", name: "ledgerline.Uuid", size: 16, logicalType: "uuid" }
    expect(avro.fields).toEqual([
      { name: "order", type: [fixed, "string"] },
      { name: "previous", type: ["null", "ledgerline.Uuid", "string"], default: null },
      { name: "others", type: { type: "array", items: ["ledgerline.Uuid", "string"] } },
      { name: "label", type: "string" } // not named: text, even when it looks like a UUID
    ])
    const type = avscType(avro)
    const uuid = "0195a3c4-6f70-7b8c-8d9e-0f1a2b3c4d5e"
    for (const order of [uuid, uuid.toUpperCase(), `{${uuid}}`, "ORD-1"]) {
      const encoded = Schema.encodeSync(Referenced)(Schema.decodeUnknownSync(Referenced)(
        { _tag: "Referenced", order, previous: order, others: [order, "x"], label: uuid }
      ))
      const value = type.fromBuffer(type.toBuffer(toAvro(encoded)))
      expect(Buffer.isBuffer(value.order)).toBe(order === uuid)
      expect(fromAvro(value)).toEqual(encoded)
    }
    const size = (order: string) =>
      type.toBuffer(toAvro({ _tag: "Referenced", order, previous: null, others: [], label: "l" })).byteLength
    expect(size(uuid)).toBe(1 + 16 + 1 + 1 + 2)
    expect(size(uuid.toUpperCase())).toBe(1 + 1 + 36 + 1 + 1 + 2)
  })

  it("reads descriptions of the record and of its properties", () => {
    class Described extends Schema.TaggedClass<Described>()("Described", {
      plain: Schema.String,
      told: Schema.propertySignature(Schema.String).annotations({ description: "Told here." }),
      later: Schema.optionalWith(Schema.String, { default: () => "d" }).annotations({ description: "Defaulted on decode." })
    }, { description: "A described event." }) {}
    const { avro, docs } = deriveAvro(Described, "ledgerline.Described")
    expect(docs["ledgerline.Described"]).toEqual({
      doc: "A described event.", fields: { told: "Told here.", later: "Defaulted on decode." }
    })
    expect(avro.fields.map((f) => f.name)).toEqual(["plain", "told", "later"])
  })

  it("throws, naming the path, on what Avro cannot carry", () => {
    const fails = (fields: Schema.Struct.Fields) => () => deriveAvro(Schema.Struct(fields), "ledgerline.Bad")
    expect(fails({ positions: Schema.HashMapFromSelf({ key: Schema.String, value: Schema.Number }) }))
      .toThrow(/HashMap<string, number>.* has no Avro counterpart at ledgerline\.Bad\.positions$/)
    expect(fails({ positions: Schema.HashMap({ key: Schema.String, value: Schema.Number }) }))
      .toThrow(/tuples are not supported.* at ledgerline\.Bad\.positions\[\]$/)
    expect(fails({ inner: Schema.Struct({ anything: Schema.Unknown }) }))
      .toThrow(/UnknownKeyword.* at ledgerline\.Bad\.inner\.anything$/)
    expect(fails({ either: Schema.Union(Schema.String, Schema.Number) })).toThrow(/at ledgerline\.Bad\.either$/)
    expect(fails({ code: Schema.Literal("not-a-name") })).toThrow(/enum symbol "not-a-name" is not a valid Avro name/)
    expect(fails({ maybe: Schema.optional(Schema.NullOr(Schema.String)) })).toThrow(/ambiguous/)
    expect(() => deriveAvro(Schema.String, "ledgerline.Bad")).toThrow(/the top level must be a record/)
  })
})
