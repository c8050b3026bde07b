import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as BinaryArray from "../../../src/adapters/postgres/PgBinaryArray.js"
import { PG_URL, runPgSuites } from "./pgTest.js"

/** What the server reads from one binary array parameter, given back as its text form. */
const echo = (cast: string, parameter: unknown) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const [row] = yield* sql.unsafe<{ v: string }>(`SELECT ($1::${cast})::text AS v`, [parameter])
    return row?.v
  }).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(PG_URL), maxConnections: 1 })))

describe("PgBinaryArray", () => {
  it("sends a uuid array as 16 bytes an element only when every id is in canonical text", () => {
    expect(BinaryArray.uuids(["0190a000-0000-7000-8000-00000000000a", null])?.byteLength).toBe(20 + 20 + 4)
    for (const other of ["0190A000-0000-7000-8000-00000000000A", "{0190a000-0000-7000-8000-00000000000a}", "0190a0000000700080000000000000a", "0190a000-0000-7000-8000_00000000000a", "not a uuid"]) {
      expect(BinaryArray.uuids(["0190a000-0000-7000-8000-00000000000a", other]), other).toBeUndefined()
    }
  })

  it("refuses a chain link that is not hex", () => {
    expect(() => BinaryArray.hexByteas(["00ff", "0g"])).toThrow(RangeError)
    expect(() => BinaryArray.hexByteas(["abc"])).toThrow(RangeError)
  })

  it("refuses a number a bigint cannot hold exactly", () => {
    expect(() => BinaryArray.int8s([2 ** 53])).toThrow(RangeError)
    expect(() => BinaryArray.int8s([1.5])).toThrow(RangeError)
  })
})

describe.runIf(runPgSuites)("PostgreSQL: binary array parameters", () => {
  it.live("each element type reads back as written, nulls and empty arrays included", () =>
    Effect.gen(function*() {
      expect(yield* echo("bigint[]", BinaryArray.int8s([1, 0, -1, 1_767_225_600_000, Number.MAX_SAFE_INTEGER, -(2 ** 40) - 7])))
        .toBe(`{1,0,-1,1767225600000,${Number.MAX_SAFE_INTEGER},${-(2 ** 40) - 7}}`)
      expect(yield* echo("int[]", BinaryArray.int4s([1, -2, 2_147_483_647]))).toBe("{1,-2,2147483647}")
      expect(yield* echo("smallint[]", BinaryArray.int2s([1, -3, 32_767]))).toBe("{1,-3,32767}")
      expect(yield* echo("text[]", BinaryArray.texts(["account-1", null, "Zürich 株式 📈", ""]))).toBe(`{account-1,NULL,"Zürich 株式 📈",""}`)
      expect(yield* echo("bytea[]", BinaryArray.byteas([new Uint8Array([0, 1, 255]), new Uint8Array(0)]))).toBe(`{"\\\\x0001ff","\\\\x"}`)
      expect(yield* echo("bytea[]", BinaryArray.hexByteas(["0001ff", "ABcd"]))).toBe(`{"\\\\x0001ff","\\\\xabcd"}`)
      expect(yield* echo("uuid[]", BinaryArray.uuids(["0190a000-0000-7000-8000-00000000000a", null, "ffffffff-ffff-ffff-ffff-ffffffffffff"])))
        .toBe("{0190a000-0000-7000-8000-00000000000a,NULL,ffffffff-ffff-ffff-ffff-ffffffffffff}")
      expect(yield* echo("text[]", BinaryArray.texts([]))).toBe("{}")
      expect(yield* echo("int[]", BinaryArray.int4s([]))).toBe("{}")
      expect(yield* echo("uuid[]", BinaryArray.uuids([]))).toBe("{}")
    }), 30_000)
})
