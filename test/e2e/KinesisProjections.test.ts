import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect } from "effect"
import { join } from "node:path"
import { emulator, eventually } from "../adapters/kinesis/kinesisTest.js"
import { startServer } from "./server.js"

describe("the service with LEDGERLINE_PROJECTIONS_SOURCE=kinesis", () => {
  it.live("projects what its relay publishes: read-your-writes holds with the read models fed from the stream", () =>
    Effect.gen(function*() {
      const { endpoint } = yield* emulator
      const server = yield* startServer({
        LEDGERLINE_BUS: "kinesis", KINESIS_ENDPOINT: endpoint, LEDGERLINE_EVENTS_STREAM: `e2e-${process.pid}-${Date.now()}`,
        LEDGERLINE_PROJECTIONS_SOURCE: "kinesis"
      })
      const alice = yield* server.token("alice", "trader")
      const opened = yield* server.call("POST", "/v1/accounts", {
        token: alice, body: { customerId: "alice", accountType: "INDIVIDUAL", currency: "USD", initialBalance: "1000.00" }
      })
      const id = opened.body.accountId as string
      for (const amount of ["10.00", "20.00", "30.00"]) {
        expect((yield* server.call("POST", `/v1/accounts/${id}/deposits`, { token: alice, body: { amount } })).status).toBe(201)
      }
      const last = yield* server.call("POST", `/v1/accounts/${id}/withdrawals`, { token: alice, body: { amount: "0.01" } })
      // relayed to Kinesis, read back shard by shard and projected: within the 2 s read-your-writes wait
      const portfolio = yield* server.call("GET", `/v1/accounts/${id}/portfolio?minPosition=${last.body.position}`, { token: alice })
      expect(portfolio.status).toBe(200)
      expect(portfolio.body).toMatchObject({ accountId: id, cash: "1059.99", equity: "1059.99" })
      // the projections' consumer checkpointed the shards it read them from
      const shardCheckpoints = Effect.flatMap(SqlClient.SqlClient, (sql) =>
        sql<{ name: string }>`SELECT name FROM bus_checkpoints WHERE scope = 'shard:projections'`).pipe(
          Effect.provide(SqliteClient.layer({ filename: join(server.dataDir, "bus-checkpoints.db"), readonly: true })),
          Effect.orDie
        )
      yield* eventually("the shard checkpoints of the projections' consumer", Effect.map(shardCheckpoints, (rows) => rows.length > 0))
    }).pipe(Effect.scoped), 60_000)
})
