import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as BusCheckpoints from "../../../src/adapters/kinesis/BusCheckpoints.js"
import { ConsumerCheckpoints } from "../../../src/application/ports/ConsumerCheckpoints.js"
import { RelayCheckpoint } from "../../../src/application/ports/RelayCheckpoint.js"
import { rawClient, runPgSuites, withSchema } from "../postgres/pgTest.js"

const SEQUENCE = "49680614318694413680103899094368030219577695050049519618"

const contract = (name: string, layer: () => Layer.Layer<RelayCheckpoint | ConsumerCheckpoints, unknown>) =>
  it.effect(`${name}: keeps the relay position, shard positions and applied versions, each per name`, () =>
    Effect.gen(function*() {
      const relay = yield* RelayCheckpoint
      const consumer = yield* ConsumerCheckpoints
      expect(yield* relay.load("events")).toBe(0)
      yield* relay.save("events", 41)
      yield* relay.save("events", 42)
      yield* relay.save("other", 7)
      expect(yield* relay.load("events")).toBe(42)
      expect(yield* relay.load("other")).toBe(7)

      expect(yield* consumer.position("projector", "s/shardId-000000000000")).toEqual(Option.none())
      yield* consumer.savePosition("projector", "s/shardId-000000000000", "1")
      yield* consumer.savePosition("projector", "s/shardId-000000000000", SEQUENCE)
      expect(yield* consumer.position("projector", "s/shardId-000000000000")).toEqual(Option.some(SEQUENCE))
      expect(yield* consumer.position("projector", "s/shardId-000000000001")).toEqual(Option.none())
      expect(yield* consumer.position("market-data", "s/shardId-000000000000")).toEqual(Option.none())

      expect(yield* consumer.appliedVersion("projector", "account-a1")).toBe(0)
      yield* consumer.saveAppliedVersion("projector", "account-a1", 3)
      expect(yield* consumer.appliedVersion("projector", "account-a1")).toBe(3)
      expect(yield* consumer.appliedVersion("auditor", "account-a1")).toBe(0)
    }).pipe(Effect.provide(layer())))

describe("bus checkpoints", () => {
  contract("memory", () => BusCheckpoints.layerMemory)
  contract("SQLite", () => BusCheckpoints.layerSql.pipe(Layer.provide(SqliteClient.layer({ filename: ":memory:" }))))
  it.effect("SQL: the table is created once, and a second store on the database reads what the first wrote", () =>
    Effect.gen(function*() {
      const first = yield* BusCheckpoints.makeSql
      yield* Effect.provide(RelayCheckpoint.pipe(Effect.flatMap((r) => r.save("events", 9))), first)
      const second = yield* BusCheckpoints.makeSql
      expect(yield* Effect.provide(RelayCheckpoint.pipe(Effect.flatMap((r) => r.load("events"))), second)).toBe(9)
    }).pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" }))))
})

describe.runIf(runPgSuites)("bus checkpoints on PostgreSQL", () => {
  contract("PostgreSQL", () => withSchema((url) => BusCheckpoints.layerSql.pipe(Layer.provide(rawClient(url)))))
})
