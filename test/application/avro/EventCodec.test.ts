import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, BigDecimal, DateTime, Equal, FastCheck as fc, Option, Schema } from "effect"
import type { AvroRecord } from "../../../src/application/avro/AvroSchema.js"
import { avscType, deriveAvro } from "../../../src/application/avro/AvroSchema.js"
import { assertHistoryCurrent, makeEventCodec } from "../../../src/application/avro/EventCodec.js"
import { AccountEventCodec, AccountEventHistory, MarketEventCodec } from "../../../src/application/avro/history.js"
import {
  AccountEvent, AccountEventVersions, AccountOpened, FundsDeposited, FundsWithdrawn, OrderCancelled, OrderPlaced, OrderRejected,
  RiskLimits, RiskLimitsSet, TradeExecuted
} from "../../../src/domain/AccountEvents.js"
import * as Refusal from "../../../src/domain/AccountRejections.js"
import { decimal } from "../../../src/domain/Decimal.js"
import { AccountId, Currency, CustomerId, OrderId, Symbol, TradeId } from "../../../src/domain/Ids.js"
import {
  MarketClosed, MarketEvent, MarketEventVersions, MarketOpened, PriceRejected, PriceUpdated, TradingHalted, TradingResumed
} from "../../../src/domain/Market.js"
import { writtenBefore } from "./writtenBefore.js"

// UUIDv7-length ids, as the application mints them.
const accountId = AccountId.make("0195a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d")
const orderId = OrderId.make("0195a3c4-6f70-7b8c-8d9e-0f1a2b3c4d5e")
const tradeId = TradeId.make("0195a3c4-7081-7c9d-9eaf-1a2b3c4d5e6f")
const ACME = Symbol.make("ACME")
const at = DateTime.unsafeMake("2026-03-02T14:32:05.123Z")

const order = {
  accountId, orderId, symbol: ACME, side: "BUY", orderType: "LIMIT", quantity: decimal("100.00"),
  limitPrice: Option.some(decimal("152.3450"))
} as const
const rejected = (reason: Refusal.OrderRefusal, limitPrice = order.limitPrice) =>
  new OrderRejected({ ...order, limitPrice, reason, rejectedAt: at })

const accountEvents: ReadonlyArray<AccountEvent> = [
  new AccountOpened({
    accountId, customerId: CustomerId.make("c-1042"), accountType: "CORPORATE", initialBalance: decimal("250000.00"),
    currency: Currency.make("USD"), openedAt: at
  }),
  new FundsDeposited({ accountId, amount: decimal("1500.25"), depositedAt: at }),
  new FundsWithdrawn({ accountId, amount: decimal("0.01"), withdrawnAt: at }),
  new RiskLimitsSet({
    accountId,
    limits: new RiskLimits({
      maxOrderNotional: Option.some(decimal("50000")), maxPositionPerSymbol: Option.none(),
      maxGrossExposure: Option.some(decimal("1000000.00")), allowShort: true
    }),
    setAt: at
  }),
  new RiskLimitsSet({
    accountId,
    limits: new RiskLimits({
      maxOrderNotional: Option.none(), maxPositionPerSymbol: Option.none(), maxGrossExposure: Option.none(), allowShort: false
    }),
    setAt: at
  }),
  new OrderPlaced({ ...order, reserved: decimal("15234.50"), placedAt: at }),
  new OrderPlaced({ ...order, side: "SELL", orderType: "MARKET", limitPrice: Option.none(), reserved: decimal("0"), placedAt: at }),
  rejected(new Refusal.AccountNotOpen()),
  rejected(new Refusal.InvalidAmount({ field: "quantity", value: decimal("-1.005"), problem: "TOO_MANY_DECIMALS" })),
  rejected(new Refusal.InvalidOrder({ field: "limitPrice", problem: "LIMIT_PRICE_REQUIRED" }), Option.none()),
  rejected(new Refusal.InsufficientFunds({ requested: decimal("15234.50"), available: decimal("1000.00") })),
  rejected(new Refusal.InsufficientPosition({ symbol: ACME, requested: decimal("100"), available: decimal("40.50") })),
  rejected(new Refusal.OrderNotionalLimitExceeded({ notional: decimal("15234.50"), limit: decimal("10000") })),
  rejected(new Refusal.PositionLimitExceeded({ symbol: ACME, resulting: decimal("1100"), limit: decimal("1000") })),
  rejected(new Refusal.GrossExposureLimitExceeded({ resulting: decimal("1000001"), limit: decimal("1000000") })),
  rejected(new Refusal.MarketClosed({ symbol: ACME })),
  rejected(new Refusal.MarketHalted({ symbol: ACME })),
  rejected(new Refusal.NoReferencePrice({ symbol: ACME })),
  rejected(new Refusal.PriceOutsideBand({
    symbol: ACME, limitPrice: decimal("200"), lastPrice: decimal("152.3450"), band: decimal("0.10")
  })),
  new TradeExecuted({
    tradeId, accountId, orderId, symbol: ACME, quantity: decimal("100.00"), price: decimal("152.3450"), tradeType: "BUY",
    executedAt: at
  }),
  new OrderCancelled({ accountId, orderId, cancelledAt: at })
]

const marketEvents: ReadonlyArray<MarketEvent> = [
  new MarketOpened({ symbol: ACME, priceBand: decimal("0.05"), orderBand: decimal("0.10"), haltOnAnomaly: true, openedAt: at }),
  new MarketClosed({ symbol: ACME, closedAt: at }),
  new TradingHalted({ symbol: ACME, reason: "price anomaly: BAND_EXCEEDED", haltedAt: at }),
  new TradingResumed({ symbol: ACME, resumedAt: at }),
  new PriceUpdated({ symbol: ACME, price: decimal("152.3450"), timestamp: at }),
  new PriceRejected({ symbol: ACME, price: decimal("-1"), timestamp: at, anomaly: "NON_POSITIVE_PRICE", lastPrice: Option.none() }),
  new PriceRejected({
    symbol: ACME, price: decimal("300"), timestamp: at, anomaly: "BAND_EXCEEDED", lastPrice: Option.some(decimal("152.3450"))
  })
]

const roundTrips = <E extends { readonly _tag: string }, I>(
  codec: { readonly encode: (e: E) => { type: string; schemaVersion: number; data: Uint8Array }; readonly decode: (t: string, v: number, d: Uint8Array) => E },
  schema: Schema.Schema<E, I>,
  events: ReadonlyArray<E>
) => {
  for (const event of events) {
    const stored = codec.encode(event)
    expect(stored.type).toBe(event._tag)
    const decoded = codec.decode(stored.type, stored.schemaVersion, stored.data)
    expect(Equal.equals(decoded, event)).toBe(true)
    expect(Schema.encodeSync(schema)(decoded)).toEqual(Schema.encodeSync(schema)(event))
    // Stores hand back a Buffer or a plain Uint8Array (a copy, here): both read the same.
    expect(Equal.equals(codec.decode(stored.type, stored.schemaVersion, Uint8Array.from(stored.data)), event)).toBe(true)
  }
}

describe("event codecs", () => {
  it("round-trip every account event type, each refusal reason and both sides of every Option", () => {
    expect(new Set(accountEvents.map((e) => e._tag))).toEqual(new Set(Object.keys(AccountEventVersions)))
    expect(new Set(accountEvents.flatMap((e) => (e._tag === "OrderRejected" ? [e.reason._tag] : []))))
      .toEqual(new Set(Refusal.OrderRefusal.members.map((m) => m._tag)))
    roundTrips(AccountEventCodec, AccountEvent, accountEvents)
  })

  it("round-trip every market event type", () => {
    expect(new Set(marketEvents.map((e) => e._tag))).toEqual(new Set(Object.keys(MarketEventVersions)))
    roundTrips(MarketEventCodec, MarketEvent, marketEvents)
  })

  it("record each event's current schema version", () => {
    for (const event of accountEvents) expect(AccountEventCodec.encode(event).schemaVersion).toBe(AccountEventVersions[event._tag])
    for (const event of marketEvents) expect(MarketEventCodec.encode(event).schemaVersion).toBe(MarketEventVersions[event._tag])
  })

  it("keep a typical TradeExecuted payload compact: its UUIDs as 16 bytes, its instant as a long, the default venue as null", () => {
    const trade = accountEvents.find((e) => e._tag === "TradeExecuted")!
    const { data } = AccountEventCodec.encode(trade)
    const json = JSON.stringify(Schema.encodeSync(AccountEvent)(trade))
    console.log(`TradeExecuted payload: ${data.byteLength} bytes of Avro (the same event as JSON: ${json.length} bytes)`)
    // 3 × (1 + 16) ids, "ACME" 5, "100" 4, "152.345" 8, side 1, instant 6, venue 1
    expect(data.byteLength).toBe(76)
  })

  it("refuse an unknown type or version, naming them", () => {
    const { data } = AccountEventCodec.encode(accountEvents[0]!)
    expect(() => AccountEventCodec.decode("AccountClosed", 1, data)).toThrow(/account event codec: unknown event type "AccountClosed"/)
    expect(() => AccountEventCodec.decode("AccountOpened", 3, data)).toThrow(/unknown schema version 3 of AccountOpened \(known: 1, 2\)/)
    expect(() => AccountEventCodec.decode("AccountOpened", 0, data)).toThrow(/unknown schema version 0 of AccountOpened/)
    expect(() => AccountEventCodec.decode("AccountOpened", 1, data.subarray(0, 10))).toThrow()
  })

  it("have frozen histories that match the event Schemas", () => {
    expect(() => assertHistoryCurrent(AccountEventCodec)).not.toThrow()
    expect(() => assertHistoryCurrent(MarketEventCodec)).not.toThrow()
  })

  it("read the bytes the previous versions wrote (ids and instants as text) as the same events", () => {
    const events = [...accountEvents, ...marketEvents]
    expect(writtenBefore).toHaveLength(events.length)
    events.forEach((event, i) => {
      const [type, schemaVersion, base64] = writtenBefore[i]!
      expect(type).toBe(event._tag)
      const codec = i < accountEvents.length ? AccountEventCodec : MarketEventCodec
      expect(schemaVersion).toBeLessThan((codec.versions as Record<string, number>)[type]!)
      const read = codec.decode(type, schemaVersion, Buffer.from(base64, "base64"))
      expect(Equal.equals(read, event), `${type} v${schemaVersion}`).toBe(true)
    })
  })
})

/** Events of every account type, with ids of every shape: UUIDs, other strings, UUIDs not in canonical form. */
const anyId = fc.oneof(
  fc.uuid(),
  fc.uuid().map((u) => u.toUpperCase()),
  fc.uuid().map((u) => `{${u}}`),
  fc.string({ minLength: 1, maxLength: 50 }).map((s) => s.trim()).filter((s) => s.length > 0)
)
const anyAccountEvent = Arbitrary.make(AccountEvent).chain((event) =>
  fc.tuple(anyId, anyId, anyId, anyId).map(([accountId, orderId, tradeId, customerId]) => {
    const ids = { accountId: AccountId.make(accountId), orderId: OrderId.make(orderId), tradeId: TradeId.make(tradeId), customerId: CustomerId.make(customerId) }
    const fields = Object.fromEntries(Object.keys(ids).filter((k) => k in event).map((k) => [k, ids[k as keyof typeof ids]]))
    return Schema.decodeUnknownSync(AccountEvent)({ ...Schema.encodeSync(AccountEvent)(event), ...fields })
  }))

describe("event codecs, for any event", () => {
  it.prop("round-trip every account event exactly", [anyAccountEvent], ([event]) => {
    const stored = AccountEventCodec.encode(event)
    const read = AccountEventCodec.decode(stored.type, stored.schemaVersion, stored.data)
    expect(Schema.encodeSync(AccountEvent)(read)).toEqual(Schema.encodeSync(AccountEvent)(event))
    expect(Equal.equals(read, event)).toBe(true)
  }, { fastCheck: { numRuns: 500 } })

  it.prop("round-trip every market event exactly", [Arbitrary.make(MarketEvent)], ([event]) => {
    const stored = MarketEventCodec.encode(event)
    const read = MarketEventCodec.decode(stored.type, stored.schemaVersion, stored.data)
    expect(Schema.encodeSync(MarketEvent)(read)).toEqual(Schema.encodeSync(MarketEvent)(event))
  }, { fastCheck: { numRuns: 300 } })

  it.prop("store a canonical UUID id in 17 bytes and any other id as its text", [anyId], ([id]) => {
    const trade = accountEvents.find((e): e is TradeExecuted => e._tag === "TradeExecuted")!
    const other = TradeId.make("t")
    const size = (tradeId: TradeId) => AccountEventCodec.encode(new TradeExecuted({ ...trade, tradeId })).data.byteLength
    const extra = size(TradeId.make(id)) - size(other) // over a 1-byte id: 1 union byte + 1 length byte + "t"
    const text = Buffer.byteLength(id, "utf8")
    if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) expect(extra).toBe(17 - 3)
    else expect(extra).toBe(1 + zigzagLength(text) + text - 3)
  })

  it.prop("store any instant DateTime can hold as its milliseconds, and read the same instant", [
    fc.integer({ min: -8_640_000_000_000_000, max: 8_640_000_000_000_000 })
  ], ([millis]) => {
    const at = DateTime.unsafeMake(millis)
    const event = new FundsDeposited({ accountId: AccountId.make("a"), amount: decimal("1"), depositedAt: at })
    const stored = AccountEventCodec.encode(event)
    const read = AccountEventCodec.decode(stored.type, stored.schemaVersion, stored.data) as FundsDeposited
    expect(DateTime.toEpochMillis(read.depositedAt)).toBe(millis)
  })
})

/** Bytes of an Avro length prefix (a zigzag varint). */
const zigzagLength = (n: number) => {
  let bytes = 1
  for (let v = n * 2; v >= 0x80; v = Math.floor(v / 0x80)) bytes += 1
  return bytes
}

// ---- evolution, with test-local versions of an event ----

class TradeV1 extends Schema.TaggedClass<TradeV1>()("TradeExecuted", {
  tradeId: Schema.String,
  price: Schema.BigDecimal
}) {}

class TradeV2 extends Schema.TaggedClass<TradeV2>()("TradeExecuted", {
  tradeId: Schema.String,
  price: Schema.BigDecimal,
  venue: Schema.propertySignature(Schema.String).annotations({ default: "XNAS", description: "Execution venue (MIC)." })
}) {}

/** What history.ts would hold: the schemas as derived when each version was current, pasted in. */
const frozenV1: AvroRecord = {
  type: "record", name: "ledgerline.TradeExecuted", fields: [{ name: "tradeId", type: "string" }, { name: "price", type: "string" }]
}
const frozenV2: AvroRecord = {
  type: "record", name: "ledgerline.TradeExecuted", fields: [
    { name: "tradeId", type: "string" }, { name: "price", type: "string" },
    { name: "venue", type: ["null", "string"], default: null, nullMeans: "XNAS" }
  ]
}

const codecV1 = makeEventCodec({ name: "trades", schema: TradeV1, versions: { TradeExecuted: 1 }, history: { TradeExecuted: { 1: frozenV1 } } })
const codecV2 = makeEventCodec({
  name: "trades", schema: TradeV2, versions: { TradeExecuted: 2 }, history: { TradeExecuted: { 1: frozenV1, 2: frozenV2 } }
})

describe("schema evolution", () => {
  it("reads v1 bytes with the v2 schema, giving the added field its default", () => {
    expect(deriveAvro(TradeV1, "ledgerline.TradeExecuted").avro).toEqual(frozenV1)
    const v1 = codecV1.encode(new TradeV1({ tradeId: "t-1", price: decimal("152.345") }))
    expect(v1.schemaVersion).toBe(1)
    expect(codecV2.decode(v1.type, v1.schemaVersion, v1.data))
      .toEqual(new TradeV2({ tradeId: "t-1", price: decimal("152.345"), venue: "XNAS" }))
    const v2 = codecV2.encode(new TradeV2({ tradeId: "t-2", price: decimal("1"), venue: "XLON" }))
    expect(v2.schemaVersion).toBe(2)
    expect(codecV2.decode(v2.type, 2, v2.data)).toEqual(new TradeV2({ tradeId: "t-2", price: decimal("1"), venue: "XLON" }))
    expect(() => assertHistoryCurrent(codecV2)).not.toThrow()
    // the default is written as null: one byte, where "XLON" takes six
    expect(v2.data.byteLength - codecV2.encode(new TradeV2({ tradeId: "t-2", price: decimal("1"), venue: "XNAS" })).data.byteLength)
      .toBe(5)
  })

  it("reads the real TradeExecuted written as v1 (before venue) and as v2 (venue as text) as v3", () => {
    const trade = accountEvents.find((e): e is TradeExecuted => e._tag === "TradeExecuted")!
    const encoded = Schema.encodeSync(TradeExecuted)(trade)
    const { _tag: _, venue: __, ...fields } = encoded
    const v1 = avscType(AccountEventHistory.TradeExecuted[1]!)
    const v2 = avscType(AccountEventHistory.TradeExecuted[2]!)
    const readV1 = AccountEventCodec.decode("TradeExecuted", 1, new Uint8Array(v1.toBuffer(fields)))
    expect(Schema.encodeSync(TradeExecuted)(readV1 as TradeExecuted)).toEqual({ ...encoded, venue: "INTERNAL" })
    for (const venue of ["INTERNAL", "XLON"]) {
      const readV2 = AccountEventCodec.decode("TradeExecuted", 2, new Uint8Array(v2.toBuffer({ ...fields, venue })))
      expect(Schema.encodeSync(TradeExecuted)(readV2 as TradeExecuted)).toEqual({ ...encoded, venue })
      const current = AccountEventCodec.encode(new TradeExecuted({ ...trade, venue }))
      expect(current.schemaVersion).toBe(3)
      expect((AccountEventCodec.decode(current.type, 3, current.data) as TradeExecuted).venue).toBe(venue)
    }
  })

  it("applies upcasters, after resolution, from the stored version up to the current one", () => {
    // v1 stored spreads in percent; v2 means a fraction (same shape, new meaning); v3 adds a field.
    class QuoteV2 extends Schema.TaggedClass<QuoteV2>()("Quoted", { spread: Schema.BigDecimal }) {}
    class QuoteV3 extends Schema.TaggedClass<QuoteV3>()("Quoted", {
      spread: Schema.BigDecimal,
      source: Schema.propertySignature(Schema.Literal("FEED", "MANUAL")).annotations({ default: "FEED" })
    }) {}
    const v1v2 = deriveAvro(QuoteV2, "ledgerline.Quoted").avro
    const v3 = deriveAvro(QuoteV3, "ledgerline.Quoted").avro
    const percentToFraction = (value: unknown) => {
      const quote = value as { readonly spread: string; readonly source: string }
      const fraction = BigDecimal.unsafeDivide(BigDecimal.unsafeFromString(quote.spread), BigDecimal.fromBigInt(100n))
      return { ...quote, spread: BigDecimal.format(fraction) }
    }
    const old = makeEventCodec({ name: "quotes", schema: QuoteV2, versions: { Quoted: 1 }, history: { Quoted: { 1: v1v2 } } })
    const current = makeEventCodec({
      name: "quotes", schema: QuoteV3, versions: { Quoted: 3 }, history: { Quoted: { 1: v1v2, 2: v1v2, 3: v3 } },
      upcasters: { Quoted: { 1: percentToFraction } }
    })
    const bytes = old.encode(new QuoteV2({ spread: decimal("0.5") })).data
    expect(current.decode("Quoted", 1, bytes)).toEqual(new QuoteV3({ spread: decimal("0.005"), source: "FEED" }))
    expect(current.decode("Quoted", 2, bytes)).toEqual(new QuoteV3({ spread: decimal("0.5"), source: "FEED" }))
    const now = current.encode(new QuoteV3({ spread: decimal("0.002"), source: "MANUAL" }))
    expect(current.decode("Quoted", now.schemaVersion, now.data)).toEqual(new QuoteV3({ spread: decimal("0.002"), source: "MANUAL" }))
  })

  it("fails the history check when a Schema changed without a version bump, or a bump froze nothing", () => {
    const unbumped = makeEventCodec({ name: "trades", schema: TradeV2, versions: { TradeExecuted: 1 }, history: { TradeExecuted: { 1: frozenV1 } } })
    expect(() => assertHistoryCurrent(unbumped))
      .toThrow(/TradeExecuted no longer matches its frozen v1: bump its version to 2, freeze 2: \{"type":"record"/)
    const unfrozen = makeEventCodec({ name: "trades", schema: TradeV2, versions: { TradeExecuted: 2 }, history: { TradeExecuted: { 1: frozenV1 } } })
    expect(() => assertHistoryCurrent(unfrozen)).toThrow(/TradeExecuted v2 is not frozen/)
  })

  it("refuses at construction a history it cannot use", () => {
    expect(() => makeEventCodec({
      name: "trades", schema: TradeV1, versions: { TradeExecuted: 1 }, history: { TradeExecuted: { 1: frozenV1, 2: frozenV2 } }
    })).toThrow(/TradeExecuted has a frozen v2 but its current version is 1: bump the version/)
    const noDefault: AvroRecord = { ...frozenV2, fields: frozenV2.fields.map(({ name, type }) => ({ name, type })) }
    class TradeNoDefault extends Schema.TaggedClass<TradeNoDefault>()("TradeExecuted", {
      tradeId: Schema.String, price: Schema.BigDecimal, venue: Schema.String
    }) {}
    expect(() => makeEventCodec({
      name: "trades", schema: TradeNoDefault, versions: { TradeExecuted: 2 }, history: { TradeExecuted: { 1: frozenV1, 2: noDefault } }
    })).toThrow(/TradeExecuted v1 cannot be read as v2: .*venue/)
    expect(() => makeEventCodec({
      name: "trades", schema: TradeV2, versions: { TradeExecuted: 2 }, history: { TradeExecuted: { 1: frozenV1, 2: frozenV2 } },
      upcasters: { TradeExecuted: { 2: (value) => value } }
    })).toThrow(/upcaster from v2/)
  })
})
