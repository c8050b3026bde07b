import { describe, expect, it } from "@effect/vitest"
import { BigDecimal, DateTime, Either } from "effect"
import * as EventRecord from "../../../src/adapters/kinesis/EventRecord.js"
import { decodeTick, encodeTick } from "../../../src/adapters/kinesis/KinesisMarketFeed.js"
import { type Entry, MAX_REQUEST_BYTES, nextRequest } from "../../../src/adapters/kinesis/PutRecords.js"
import type { RecordedEvent } from "../../../src/application/ports/EventStore.js"
import { decimal } from "../../../src/domain/Decimal.js"
import { Symbol } from "../../../src/domain/Ids.js"

const event: RecordedEvent = {
  eventId: "0195f1a2-7c00-7abc-8def-0123456789ab",
  aggregateId: "account-a1",
  version: 3,
  position: 42,
  type: "FundsDeposited",
  schemaVersion: 2,
  timestamp: DateTime.unsafeMake(Date.parse("2026-03-02T14:00:00.123Z")),
  data: Uint8Array.from([0, 1, 2, 250, 255]),
  metadata: { userId: "alice", correlationId: "corr-1", causationId: "cause-1", commandId: "cmd-1" },
  hash: "ab".repeat(32)
}

const entry = (partitionKey: string, bytes = 10): Entry => ({ partitionKey, data: new Uint8Array(bytes) })

describe("event record encoding", () => {
  it("round-trips the envelope and the payload bytes", () => {
    const bytes = EventRecord.encode(event)
    expect(bytes[0]).toBe(EventRecord.FORMAT)
    expect(EventRecord.decode(bytes)).toEqual(Either.right(event))
    // the payload is the record's tail, not base64
    expect([...bytes.slice(bytes.length - 5)]).toEqual([0, 1, 2, 250, 255])
    const headerLength = new DataView(bytes.buffer).getUint32(1)
    expect(JSON.parse(Buffer.from(bytes.slice(5, 5 + headerLength)).toString("utf8"))).toMatchObject({
      aggregateId: "account-a1", version: 3, position: 42, timestamp: "2026-03-02T14:00:00.123Z"
    })
  })

  it("refuses what it cannot read, saying why", () => {
    const reason = (bytes: Uint8Array) => Either.match(EventRecord.decode(bytes), { onLeft: (e) => e.reason, onRight: () => "decoded" })
    expect(reason(new Uint8Array([1, 0]))).toContain("too short")
    expect(reason(Uint8Array.from([2, ...EventRecord.encode(event).slice(1)]))).toBe("record format 2, not 1")
    expect(reason(EventRecord.encode(event).slice(0, 20))).toContain("a header of")
    const noVersion = Buffer.from(JSON.stringify({ aggregateId: "x" }))
    expect(reason(Uint8Array.from([1, 0, 0, 0, noVersion.length, ...noVersion]))).toContain("the envelope does not decode")
  })
})

describe("tick encoding", () => {
  it("carries the price as an exact decimal string", () => {
    const at = DateTime.unsafeMake(Date.parse("2026-03-02T14:00:00.250Z"))
    const bytes = encodeTick({ symbol: Symbol.make("AAPL"), price: decimal("190.0004"), timestamp: at })
    expect(JSON.parse(Buffer.from(bytes).toString("utf8"))).toEqual({ symbol: "AAPL", price: "190.0004", timestamp: "2026-03-02T14:00:00.250Z" })
    const decoded = decodeTick(bytes)
    expect(Either.isRight(decoded) && BigDecimal.equals(decoded.right.price, decimal("190.0004"))).toBe(true)
    // trailing zeros are not written: "190.3800" and "190.38" are one price
    expect(JSON.parse(Buffer.from(encodeTick({ symbol: Symbol.make("AAPL"), price: decimal("190.3800"), timestamp: at })).toString("utf8")).price).toBe("190.38")
  })

  it("refuses a price that is a JSON number, a bad symbol and garbage", () => {
    const json = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8")
    expect(Either.isLeft(decodeTick(json({ symbol: "AAPL", price: 190.38, timestamp: "2026-03-02T14:00:00Z" })))).toBe(true)
    expect(Either.isLeft(decodeTick(json({ symbol: "aapl", price: "190.38", timestamp: "2026-03-02T14:00:00Z" })))).toBe(true)
    expect(Either.isLeft(decodeTick(Buffer.from("not json")))).toBe(true)
  })
})

describe("PutRecords planning", () => {
  it("sends at most one record per partition key, the first pending one, in order", () => {
    const pending = [entry("a"), entry("b"), entry("a"), entry("c"), entry("b")]
    expect(nextRequest(pending)).toEqual([0, 1, 3])
  })

  it("takes at most 500 records", () => {
    const pending = Array.from({ length: 1200 }, (_, i) => entry(`k${i}`))
    expect(nextRequest(pending)).toEqual(Array.from({ length: 500 }, (_, i) => i))
  })

  it("keeps a request within 5 MiB, partition keys counted", () => {
    const big = 900 * 1024
    const pending = Array.from({ length: 8 }, (_, i) => entry(`k${i}`, big))
    const picked = nextRequest(pending)
    expect(picked).toEqual([0, 1, 2, 3, 4])
    expect(picked.reduce((n, i) => n + pending[i]!.data.byteLength + 2, 0)).toBeLessThanOrEqual(MAX_REQUEST_BYTES)
    // a smaller head further on still fits
    expect(nextRequest([...pending, entry("small")])).toEqual([0, 1, 2, 3, 4, 8])
  })
})
