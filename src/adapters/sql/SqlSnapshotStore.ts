import { SqlClient, type SqlError } from "@effect/sql"
import { DateTime, Effect, Option } from "effect"
import { SnapshotStore, SnapshotStoreUnavailable } from "../../application/ports/SnapshotStore.js"

interface SnapshotRow {
  readonly aggregate_id: string
  readonly version: number | string
  readonly state_version: number | string
  readonly state: string
  readonly taken_at: Date | number | string
}

const unavailable = (reason: string) => (cause: SqlError.SqlError) => new SnapshotStoreUnavailable({ reason, cause })

/** Snapshots over any @effect/sql client: one row per aggregate, the state as JSON text. */
export const make = (timestamp: (t: DateTime.Utc) => Date | number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    return SnapshotStore.of({
      load: (aggregateId) =>
        sql<SnapshotRow>`SELECT aggregate_id, version, state_version, state, taken_at FROM snapshots WHERE aggregate_id = ${aggregateId}`.pipe(
          Effect.map(([row]) =>
            Option.map(Option.fromNullable(row), (r) => ({
              aggregateId: r.aggregate_id,
              version: Number(r.version),
              stateVersion: Number(r.state_version),
              state: JSON.parse(r.state) as unknown,
              takenAt: DateTime.unsafeMake(typeof r.taken_at === "string" ? Number(r.taken_at) : r.taken_at)
            }))),
          Effect.mapError(unavailable("snapshot load failed"))
        ),
      save: (snapshot) =>
        sql`INSERT INTO snapshots (aggregate_id, version, state_version, state, taken_at)
          VALUES (${snapshot.aggregateId}, ${snapshot.version}, ${snapshot.stateVersion}, ${JSON.stringify(snapshot.state)}, ${timestamp(snapshot.takenAt)})
          ON CONFLICT (aggregate_id) DO UPDATE SET version = excluded.version, state_version = excluded.state_version,
            state = excluded.state, taken_at = excluded.taken_at
          WHERE snapshots.version <= excluded.version`.pipe(
          Effect.asVoid,
          Effect.mapError(unavailable("snapshot save failed"))
        )
    })
  })
