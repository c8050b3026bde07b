import { SqlClient, type SqlError } from "@effect/sql"
import { Context, Effect, Layer, Option } from "effect"
import { ConsumerCheckpoints, ConsumerCheckpointUnavailable } from "../../application/ports/ConsumerCheckpoints.js"
import { RelayCheckpoint, RelayCheckpointUnavailable } from "../../application/ports/RelayCheckpoint.js"

/**
 * The checkpoints of the bus (the relay's position, each consumer's shard positions and applied
 * versions) as one key-value table, `(scope, name) → value`:
 *
 * | scope                 | name                  | value                    |
 * | --------------------- | --------------------- | ------------------------ |
 * | `relay`               | the relay's name      | last published position  |
 * | `shard:<consumer>`    | `<stream>/<shardId>`  | last processed sequence  |
 * | `applied:<consumer>`  | aggregateId           | highest version applied  |
 *
 * In SQL the table is created by this adapter (`CREATE TABLE IF NOT EXISTS`, portable to SQLite and
 * PostgreSQL), not by the store's migrations: it belongs to the bus, and a database without a bus
 * never gets it.
 */
export const TABLE = "bus_checkpoints"

interface KeyValue<E> {
  readonly get: (scope: string, name: string) => Effect.Effect<Option.Option<string>, E>
  readonly set: (scope: string, name: string, value: string) => Effect.Effect<void, E>
}

const ports = <E>(kv: KeyValue<E>) => {
  const asRelay = (reason: string) => <A>(effect: Effect.Effect<A, E>) =>
    Effect.mapError(effect, (cause) => new RelayCheckpointUnavailable({ reason, cause }))
  const asConsumer = (reason: string) => <A>(effect: Effect.Effect<A, E>) =>
    Effect.mapError(effect, (cause) => new ConsumerCheckpointUnavailable({ reason, cause }))
  const number = Option.match({ onNone: () => 0, onSome: Number })
  return Context.make(RelayCheckpoint, RelayCheckpoint.of({
    load: (relay) => kv.get("relay", relay).pipe(Effect.map(number), asRelay("relay checkpoint load failed")),
    save: (relay, position) => kv.set("relay", relay, String(position)).pipe(asRelay("relay checkpoint save failed"))
  })).pipe(Context.add(ConsumerCheckpoints, ConsumerCheckpoints.of({
    position: (consumer, partition) => kv.get(`shard:${consumer}`, partition).pipe(asConsumer("shard checkpoint load failed")),
    savePosition: (consumer, partition, sequenceNumber) =>
      kv.set(`shard:${consumer}`, partition, sequenceNumber).pipe(asConsumer("shard checkpoint save failed")),
    appliedVersion: (consumer, aggregateId) =>
      kv.get(`applied:${consumer}`, aggregateId).pipe(Effect.map(number), asConsumer("applied version load failed")),
    saveAppliedVersion: (consumer, aggregateId, version) =>
      kv.set(`applied:${consumer}`, aggregateId, String(version)).pipe(asConsumer("applied version save failed"))
  })))
}

/** In memory, for tests and for a process that may start over (what it holds dies with it). */
export const makeMemory = Effect.sync(() => {
  const values = new Map<string, string>()
  const key = (scope: string, name: string) => `${scope}\u0000${name}`
  return ports<never>({
    get: (scope, name) => Effect.sync(() => Option.fromNullable(values.get(key(scope, name)))),
    set: (scope, name, value) => Effect.sync(() => void values.set(key(scope, name), value))
  })
})

export const layerMemory: Layer.Layer<RelayCheckpoint | ConsumerCheckpoints> = Layer.effectContext(makeMemory)

/** Over any @effect/sql client (SQLite or PostgreSQL); creates the table if it is missing. */
export const makeSql = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql.unsafe(`CREATE TABLE IF NOT EXISTS ${TABLE} (
    scope TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (scope, name)
  )`)
  return ports<SqlError.SqlError>({
    get: (scope, name) =>
      sql<{ value: string }>`SELECT value FROM ${sql(TABLE)} WHERE scope = ${scope} AND name = ${name}`.pipe(
        Effect.map((rows) => Option.fromNullable(rows[0]?.value))
      ),
    set: (scope, name, value) =>
      sql`INSERT INTO ${sql(TABLE)} (scope, name, value) VALUES (${scope}, ${name}, ${value})
        ON CONFLICT (scope, name) DO UPDATE SET value = excluded.value`.pipe(Effect.asVoid)
  })
})

export const layerSql: Layer.Layer<RelayCheckpoint | ConsumerCheckpoints, SqlError.SqlError, SqlClient.SqlClient> = Layer.effectContext(makeSql)
