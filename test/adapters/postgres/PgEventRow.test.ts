import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Context, DateTime, Effect, Layer, Redacted } from "effect"
import { COLUMNS, fromPackedRow, type PackedRow } from "../../../src/adapters/postgres/PgEventRow.js"
import * as PgEventStore from "../../../src/adapters/postgres/PgEventStore.js"
import { EventStore, type NewEvent } from "../../../src/application/ports/EventStore.js"
import { freshSchema, PG_URL, runPgSuites } from "./pgTest.js"

/** One row of `events` as the server packs it, from literal values: no table, so any value the columns' types allow. */
const packed = (values: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql.unsafe<PackedRow>(`SELECT ${COLUMNS} FROM (VALUES (${values})) AS events(position, aggregate_id, version,
      event_id, type, schema_version, "timestamp", data, user_id, correlation_id, causation_id, command_id, hash, user_uuid, command_uuid)`)
    return row!
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(PG_URL), maxConnections: 1 })))

const HASH = "ab".repeat(32)

describe("PgEventRow", () => {
  it("refuses a packed row that is cut short", () => {
    const row = { packed: Buffer.alloc(40).toString("base64"), user_id: "u", correlation_id: null, causation_id: null, command_id: "c" }
    expect(() => fromPackedRow(row)).toThrow(RangeError)
  })
})

describe.runIf(runPgSuites)("PostgreSQL: packed event rows", () => {
  it.live("unpacks what the server packs, at the ends of each column's range", () =>
    Effect.gen(function*() {
      const row = yield* packed(`${2 ** 53 - 1}::int8, 'konto-ü-✓-${"x".repeat(100)}', 2147483647, '0190a6f2-7c1e-7a3b-9c4d-5e6f7a8b9c0d'::uuid,
        'Ünusual', 32767::int2, '0001-01-01T00:00:00.001Z'::timestamptz, decode('${"00ff".repeat(3000)}', 'hex'), NULL, 'corr', 'cause', NULL,
        decode('${HASH}', 'hex'), 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid, '00000000-0000-0000-0000-000000000000'::uuid`)
      const event = fromPackedRow(row)
      expect(event.position).toBe(2 ** 53 - 1)
      expect(event.aggregateId).toBe(`konto-ü-✓-${"x".repeat(100)}`)
      expect(event.version).toBe(2147483647)
      expect(event.eventId).toBe("0190a6f2-7c1e-7a3b-9c4d-5e6f7a8b9c0d")
      expect(event.type).toBe("Ünusual")
      expect(event.schemaVersion).toBe(32767)
      expect(event.timestamp.epochMillis).toBe(new Date("0001-01-01T00:00:00.001Z").getTime())
      expect(Buffer.from(event.data).toString("hex")).toBe("00ff".repeat(3000))
      expect(event.hash).toBe(HASH)
      expect(event.metadata).toEqual({
        userId: "ffffffff-ffff-ffff-ffff-ffffffffffff", correlationId: "corr", causationId: "cause", commandId: "00000000-0000-0000-0000-000000000000"
      })
      // ids kept as text, correlation and causation the command's, empty data, a timestamp before 1970
      const other = fromPackedRow(yield* packed(`1::int8, 'a', 1, '0190a6f2-7c1e-7a3b-9c4d-5e6f7a8b9c0d'::uuid, 'T', 1::int2,
        '1969-12-31T23:59:59.999Z'::timestamptz, ''::bytea, 'alice', NULL, NULL, 'cmd-1', decode('${HASH}', 'hex'), NULL::uuid, NULL::uuid`))
      expect([other.position, other.aggregateId, other.type, other.data.byteLength, other.timestamp.epochMillis]).toEqual([1, "a", "T", 0, -1])
      expect(other.metadata).toEqual({ userId: "alice", correlationId: "cmd-1", causationId: "cmd-1", commandId: "cmd-1" })
    }), 60_000)

  it.live("every read of the store gives back the events as appended", () =>
    Effect.gen(function*() {
      const { url } = yield* freshSchema
      const store = yield* Layer.build(PgEventStore.layer({ url, maxConnections: 2 })).pipe(Effect.map(Context.get(EventStore)))
      const events = (i: number): NewEvent => ({
        eventId: `0190a000-0000-7000-8000-00000000000${i}`, type: i % 2 === 0 ? "Noted" : "Ändrad", schemaVersion: i,
        timestamp: DateTime.unsafeMake(i % 2 === 0 ? -86_400_000 * 365 * 80 + i : 1_767_225_600_123 + i),
        data: new Uint8Array(i * 37).map((_, k) => (k * 7 + i) % 256),
        metadata: i % 2 === 0
          ? { userId: "0190a000-0000-7000-8000-0000000000aa", correlationId: "c-1", causationId: "0190a000-0000-7000-8000-0000000000bb", commandId: "0190a000-0000-7000-8000-0000000000bb" }
          : { userId: "bob", correlationId: "cmd", causationId: "cmd", commandId: "cmd" }
      })
      const first = yield* store.appendEvents("stream-ü", 0, [0, 1, 2].map(events))
      const second = yield* store.appendEvents("other", 0, [3, 4].map(events))
      const appended = [...first.events, ...second.events]
      expect(yield* store.readAll()).toEqual(appended)
      expect(yield* store.getEvents("stream-ü")).toEqual(first.events)
      expect(yield* store.getEvents("other", { fromVersion: 2 })).toEqual(second.events.slice(1))
    }).pipe(Effect.scoped), 60_000)
})
