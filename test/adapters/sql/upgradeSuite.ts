import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect, type Layer, Option, type Scope } from "effect"
import * as Ed25519Signer from "../../../src/adapters/crypto/Ed25519Signer.js"
import type { SqlStores } from "../../../src/adapters/sql/SqlStores.js"
import { Accounts } from "../../../src/application/Aggregate.js"
import { verifyChain } from "../../../src/application/ChainVerification.js"
import { GENESIS, link } from "../../../src/application/HashChain.js"
import { CommandSeen, EventStore, type NewEvent, type RecordedEvent } from "../../../src/application/ports/EventStore.js"
import { writtenBefore } from "../../application/avro/writtenBefore.js"

/** A database of one engine: a raw client on it, and the store over it (which migrates when built). */
export interface UpgradeTarget {
  readonly client: Layer.Layer<SqlClient.SqlClient, unknown>
  readonly store: Layer.Layer<SqlStores, unknown>
  /** A timestamp as the engine's `events.timestamp` takes it. */
  readonly timestamp: (t: DateTime.Utc) => Date | number
}

const uuid = (kind: string, n: number) => `${kind}0000000-0000-7000-8000-${n.toString(16).padStart(12, "0")}`
const stored = (type: string) => {
  const found = writtenBefore.find(([t]) => t === type)!
  return { type, schemaVersion: found[1], data: new Uint8Array(Buffer.from(found[2], "base64")) }
}

/**
 * A log written before migration 0004 (every metadata id as text, payloads as the previous codec
 * wrote them), read, verified and appended to after it: nothing already written changes meaning.
 */
export const upgradeSuite = (
  name: string,
  target: Effect.Effect<UpgradeTarget, unknown, Scope.Scope>,
  migrations: Record<string, Effect.Effect<unknown, unknown, SqlClient.SqlClient>>
) =>
  describe(`${name}: a log written before migration 0004`, () => {
    it.scoped("reads, verifies and finds by command as before, and takes compact appends after it", () =>
      Effect.gen(function*() {
        const { client, store, timestamp } = yield* target
        const before = Object.fromEntries(Object.entries(migrations).filter(([key]) => key < "0004"))
        const at = DateTime.unsafeMake("2026-03-02T14:32:05.123Z")
        const command = uuid("c", 1)
        const fresh = (n: number, aggregateId: string, version: number, type: string, commandId: string): Omit<RecordedEvent, "hash"> => ({
          ...stored(type), eventId: uuid("e", n), timestamp: at, aggregateId, version, position: n,
          metadata: { userId: uuid("a", 9), correlationId: commandId, causationId: commandId, commandId }
        })
        const account = "account-0195a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d"
        let previous = GENESIS
        const old: Array<RecordedEvent> = [
          fresh(1, account, 1, "AccountOpened", command),
          fresh(2, account, 2, "TradeExecuted", command),
          fresh(3, "account-other", 1, "AccountOpened", "alice/key-1"),
          { ...fresh(4, account, 3, "FundsDeposited", "fill-1"), metadata: { userId: "filler", correlationId: uuid("a", 4), causationId: uuid("b", 4), commandId: "fill-1" } }
        ].map((e) => {
          previous = link(previous, e)
          return { ...e, hash: previous }
        })

        yield* Effect.gen(function*() {
          yield* Migrator.make({})({ loader: Migrator.fromRecord(before), table: "ledgerline_migrations" })
          const sql = yield* SqlClient.SqlClient
          for (const e of old) {
            yield* sql`INSERT INTO events (position, aggregate_id, version, event_id, type, schema_version, timestamp, data,
              user_id, correlation_id, causation_id, command_id, hash) VALUES (${e.position}, ${e.aggregateId}, ${e.version},
              ${e.eventId}, ${e.type}, ${e.schemaVersion}, ${timestamp(e.timestamp)}, ${Buffer.from(e.data)}, ${e.metadata.userId},
              ${e.metadata.correlationId}, ${e.metadata.causationId}, ${e.metadata.commandId}, ${Buffer.from(e.hash, "hex")})`
          }
          yield* sql`UPDATE event_head SET position = ${old.length}, hash = ${Buffer.from(previous, "hex")} WHERE id = 1`
        }).pipe(Effect.provide(client))

        yield* Effect.gen(function*() {
          const events = yield* EventStore
          expect(yield* events.readAll()).toEqual(old)
          expect(yield* verifyChain(2)).toMatchObject({ _tag: "Intact", events: 4 })
          expect(yield* events.findByCommand(account, command)).toEqual(old.slice(0, 2))
          expect(yield* events.findByCommand("account-other", "alice/key-1")).toEqual([old[2]])
          // a UUID command written to command_id before there was a command_uuid, and a text one
          expect(yield* events.commandsSeen([
            { aggregateId: account, commandId: command }, { aggregateId: "account-other", commandId: "alice/key-1" },
            { aggregateId: "account-other", commandId: command }, { aggregateId: account, commandId: uuid("c", 2) }
          ])).toEqual([true, true, false, false])
          // and so does the commit's own check: the legacy UUID command and the text one are refused, writing nothing
          const again = (aggregateId: string, version: number, commandId: string) =>
            Effect.flip(events.appendIfNewCommand!(aggregateId, version, [{
              type: "Noted", schemaVersion: 1, data: new Uint8Array([1]), eventId: uuid("e", 9), timestamp: at,
              metadata: { userId: "alice", correlationId: commandId, causationId: commandId, commandId }
            }]))
          expect(yield* again(account, 3, command)).toEqual(new CommandSeen({ aggregateId: account, commandId: command }))
          expect(yield* again("account-other", 1, "alice/key-1")).toEqual(new CommandSeen({ aggregateId: "account-other", commandId: "alice/key-1" }))
          expect(Option.map(yield* events.head, (h) => h.position)).toEqual(Option.some(4))
          const [opened, trade] = old.map((e) => Accounts.codec.decode(e.type, e.schemaVersion, e.data))
          expect(opened).toMatchObject({ _tag: "AccountOpened", accountId: "0195a3c4-5e6f-7a8b-9c0d-1e2f3a4b5c6d" })
          expect(trade).toMatchObject({ _tag: "TradeExecuted", venue: "INTERNAL", orderId: "0195a3c4-6f70-7b8c-8d9e-0f1a2b3c4d5e" })

          const later: NewEvent = {
            ...Accounts.codec.encode(trade!), eventId: uuid("e", 5), timestamp: at,
            metadata: { userId: uuid("a", 9), correlationId: command, causationId: command, commandId: command }
          }
          const appended = yield* events.appendEvents(account, 3, [later])
          expect(appended.events[0]).toMatchObject({ position: 5, version: 4, metadata: later.metadata, hash: link(previous, { ...later, aggregateId: account, version: 4, position: 5 }) })
          // one command id in command_id (before) and in command_uuid (after)
          expect((yield* events.findByCommand(account, command)).map((e) => e.position)).toEqual([1, 2, 5])
          expect(yield* verifyChain(2)).toMatchObject({ _tag: "Intact", events: 5 })
        }).pipe(Effect.provide(Ed25519Signer.layerTest), Effect.provide(store))

        // the new row keeps its ids in the compact columns, the old ones as they were written
        const rows = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
          sql<{ position: number | string; user_id: string | null; command_id: string | null; correlation_id: string | null; compact: number | string }>`
            SELECT position, user_id, command_id, correlation_id,
              (CASE WHEN user_uuid IS NULL THEN 0 ELSE 1 END) + (CASE WHEN command_uuid IS NULL THEN 0 ELSE 1 END) AS compact
            FROM events ORDER BY position`).pipe(Effect.provide(client))
        expect(rows.map((r) => [Number(r.position), r.user_id, r.command_id, r.correlation_id, Number(r.compact)])).toEqual([
          [1, uuid("a", 9), command, command, 0],
          [2, uuid("a", 9), command, command, 0],
          [3, uuid("a", 9), "alice/key-1", "alice/key-1", 0],
          [4, "filler", "fill-1", uuid("a", 4), 0],
          [5, null, null, null, 2]
        ])
      }))
  })
