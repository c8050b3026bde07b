import { Context, type DateTime, type Effect, type Option, Schema } from "effect"

/** An aggregate's encoded state after `version` events. */
export interface Snapshot {
  readonly aggregateId: string
  readonly version: number
  /** Version of the state's encoding; a snapshot of another version is ignored and rebuilt. */
  readonly stateVersion: number
  readonly state: unknown
  readonly takenAt: DateTime.Utc
}

export class SnapshotStoreUnavailable extends Schema.TaggedError<SnapshotStoreUnavailable>()("SnapshotStoreUnavailable", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

export class SnapshotStore extends Context.Tag("ledgerline/SnapshotStore")<SnapshotStore, {
  /** The latest snapshot of the aggregate, if any. */
  readonly load: (aggregateId: string) => Effect.Effect<Option.Option<Snapshot>, SnapshotStoreUnavailable>
  /** Keeps the snapshot unless the one stored is of a later version. */
  readonly save: (snapshot: Snapshot) => Effect.Effect<void, SnapshotStoreUnavailable>
}>() {}
