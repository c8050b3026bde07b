import type { SqlClient } from "@effect/sql"
import { Config, Context, Duration, Effect, type Scope } from "effect"
import { CheckpointStore } from "../../application/ports/Checkpoints.js"
import { EventStore } from "../../application/ports/EventStore.js"
import type { ReadModel } from "../../application/ports/ReadModel.js"
import type { ReadModelStore } from "../../application/ports/ReadModelStore.js"
import { Retention } from "../../application/ports/Retention.js"
import { SnapshotStore } from "../../application/ports/SnapshotStore.js"
import * as SqlCheckpointStore from "./SqlCheckpointStore.js"
import * as SqlEventStore from "./SqlEventStore.js"
import * as SqlReadModel from "./SqlReadModel.js"
import * as SqlSnapshotStore from "./SqlSnapshotStore.js"

/** Everything a SQL database serves, once its schema is migrated: the event store side and the read models. */
export type SqlStores = EventStore | SnapshotStore | CheckpointStore | Retention | ReadModel | ReadModelStore

export interface SqlEngine {
  readonly dialect: SqlEventStore.SqlDialect
  readonly migrate: Effect.Effect<unknown, unknown, SqlClient.SqlClient>
  readonly retention: Effect.Effect<Context.Tag.Service<Retention>, never, SqlClient.SqlClient>
  readonly readModel: SqlReadModel.ReadModelDialect
}

/** Migrates, then builds every store of the engine over the client in context. */
export const make = (
  engine: SqlEngine,
  options?: SqlEventStore.SqlEventStoreOptions
): Effect.Effect<Context.Context<SqlStores>, unknown, SqlClient.SqlClient | Scope.Scope> =>
  Effect.gen(function*() {
    yield* engine.migrate
    const { timestamp } = engine.dialect
    const store = yield* SqlEventStore.make(engine.dialect, options)
    const retention = yield* engine.retention
    return Context.make(EventStore, store).pipe(
      Context.add(SnapshotStore, yield* SqlSnapshotStore.make(timestamp)),
      Context.add(CheckpointStore, yield* SqlCheckpointStore.make(timestamp)),
      // a purge also drops the purged events the store keeps in memory for its subscribers
      Context.add(Retention, Retention.of({
        ...retention,
        purgeThrough: (position, reason) =>
          Effect.tap(retention.purgeThrough(position, reason), () => Effect.sync(() => SqlEventStore.forgetThrough(store, position)))
      })),
      Context.merge(yield* SqlReadModel.make(engine.readModel))
    )
  })

/** Group-commit settings from LEDGERLINE_GROUP_COMMIT_MAX and LEDGERLINE_GROUP_COMMIT_WAIT. */
export const optionsConfig = Effect.gen(function*() {
  const maxBatch = yield* Config.integer("LEDGERLINE_GROUP_COMMIT_MAX").pipe(Config.withDefault(512))
  const maxWait = yield* Config.duration("LEDGERLINE_GROUP_COMMIT_WAIT").pipe(Config.withDefault(Duration.zero))
  return { ...SqlEventStore.defaultOptions, groupCommit: { maxBatch, maxWait } } satisfies SqlEventStore.SqlEventStoreOptions
})
