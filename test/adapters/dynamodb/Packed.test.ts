import { describe, expect, it } from "@effect/vitest"
import { DateTime } from "effect"
import { type OutboxEntry, order } from "../../../src/adapters/dynamodb/Outbox.js"
import * as Packed from "../../../src/adapters/dynamodb/Packed.js"
import type { RecordedEvent } from "../../../src/application/ports/EventStore.js"

const recorded = (position: number, overrides: Partial<RecordedEvent> = {}): RecordedEvent => ({
  aggregateId: "acct-1",
  version: position,
  position,
  hash: position === 0 ? "" : position.toString(16).padStart(64, "0"),
  eventId: `e-${position}`,
  type: "FundsDeposited",
  schemaVersion: 2,
  timestamp: DateTime.unsafeMake(Date.UTC(2024, 1, 29, 23, 59, 59, 987)),
  data: new Uint8Array([0, 1, 127, 128, 255]),
  metadata: { userId: "user-1", correlationId: "c", causationId: "", commandId: "cmd" },
  ...overrides
})

describe("Packed chunks", () => {
  it("round-trips every field, unsequenced and sequenced, whatever the text", () => {
    const events = [
      recorded(0),
      recorded(7, { aggregateId: "café ✓ \"quoted\" \\ #1", type: "", data: new Uint8Array(), metadata: { userId: "ü", correlationId: "", causationId: "x".repeat(70_000), commandId: "✓" } }),
      recorded(2 ** 40, { version: 123_456, schemaVersion: 0, timestamp: DateTime.unsafeMake(0) })
    ]
    const decoded = Packed.decode(Packed.encode(events))
    expect(decoded).toEqual(events)
    expect(decoded.every((e) => e.data.constructor === Uint8Array)).toBe(true)
    expect(Packed.encode(events).byteLength).toBe(1 + events.map(Packed.recordSize).reduce((a, b) => a + b, 0))
  })

  it("skips the events `keep` leaves out, by position", () => {
    const events = [1, 2, 3, 4, 5].map((p) => recorded(p))
    expect(Packed.decode(Packed.encode(events), (p) => p >= 2 && p < 4).map((e) => e.position)).toEqual([2, 3])
  })

  it("refuses a chunk of an unknown format", () => {
    expect(() => Packed.decode(new Uint8Array([9]))).toThrow(/unknown packed format 9/)
  })

  it("cuts runs at the byte limit and where asked, an oversized event alone", () => {
    const size = Packed.recordSize(recorded(1))
    const events = [1, 2, 3, 4, 5, 6].map((p) => recorded(p))
    expect(Packed.runs(events, 1 + 2 * size).map((r) => r.map((e) => e.position))).toEqual([[1, 2], [3, 4], [5, 6]])
    expect(Packed.runs(events, 1 + 10 * size, (a) => a.position === 4).map((r) => r.length)).toEqual([4, 2])
    expect(Packed.runs(events, 10).map((r) => r.length)).toEqual([1, 1, 1, 1, 1, 1])
    expect(Packed.runs([], 10)).toEqual([])
  })
})

const entry = (aggregateId: string, firstVersion: number, createdAt: number): OutboxEntry =>
  ({ key: {}, aggregateId, firstVersion, count: 1, inline: 1, appendId: `${aggregateId}-${firstVersion}`, chunks: 0, createdAt })

describe("the outbox order", () => {
  it("is oldest first, and each aggregate's appends in version order even when clocks disagree", () => {
    const entries = [entry("b", 1, 20), entry("a", 2, 10), entry("a", 1, 30), entry("c", 1, 5), entry("b", 2, 15)]
    expect(order(entries).map((e) => `${e.aggregateId}@${e.firstVersion}`)).toEqual(["c@1", "a@1", "b@1", "b@2", "a@2"])
  })
})
