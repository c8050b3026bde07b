import { SqlClient, type SqlError } from "@effect/sql"
import { DateTime, Effect } from "effect"
import { CheckpointStore, CheckpointStoreUnavailable } from "../../application/ports/Checkpoints.js"

interface CheckpointRow {
  readonly position: number | string
  readonly hash: string
  readonly signed_at: Date | number | string
  readonly key_id: string
  readonly signature: string
}

const unavailable = (reason: string) => (cause: SqlError.SqlError) => new CheckpointStoreUnavailable({ reason, cause })

/** Signed chain checkpoints in the `chain_checkpoints` table (append-only by trigger). */
export const make = (timestamp: (t: DateTime.Utc) => Date | number) =>
  Effect.map(SqlClient.SqlClient, (sql) =>
    CheckpointStore.of({
      append: (c) =>
        sql`INSERT INTO chain_checkpoints (position, hash, signed_at, key_id, signature)
          VALUES (${c.position}, ${c.hash}, ${timestamp(c.signedAt)}, ${c.keyId}, ${c.signature})`.pipe(
          Effect.asVoid,
          Effect.mapError(unavailable("checkpoint append failed"))
        ),
      list: sql<CheckpointRow>`SELECT position, hash, signed_at, key_id, signature FROM chain_checkpoints ORDER BY position`.pipe(
        Effect.map((rows) => rows.map((r) => ({
          position: Number(r.position),
          hash: r.hash,
          signedAt: DateTime.unsafeMake(typeof r.signed_at === "string" ? Number(r.signed_at) : r.signed_at),
          keyId: r.key_id,
          signature: r.signature
        }))),
        Effect.mapError(unavailable("checkpoint list failed"))
      )
    }))
