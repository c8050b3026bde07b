import { Config, Effect, Layer, Redacted } from "effect"
import { join } from "node:path"
import * as Memory from "../adapters/memory/index.js"
import * as PgEventStore from "../adapters/postgres/PgEventStore.js"
import * as SqlStores from "../adapters/sql/SqlStores.js"
import * as SqliteEventStore from "../adapters/sqlite/SqliteEventStore.js"
import type { CheckpointStore } from "../application/ports/Checkpoints.js"
import type { EventStore } from "../application/ports/EventStore.js"
import type { ReadModel } from "../application/ports/ReadModel.js"
import type { ReadModelStore } from "../application/ports/ReadModelStore.js"
import type { SnapshotStore } from "../application/ports/SnapshotStore.js"

/**
 * The stores the service runs on, chosen from the same settings as `main.ts`: LEDGERLINE_STORE
 * (sqlite | postgres | memory), LEDGERLINE_SQLITE_FILE (or LEDGERLINE_DATA_DIR/ledgerline.db),
 * DATABASE_URL, and the group-commit settings. The service (`main.ts`) and every CLI use this one choice.
 */
export const StoresLive: Layer.Layer<EventStore | SnapshotStore | CheckpointStore | ReadModel | ReadModelStore, unknown> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const kind = yield* Config.literal("sqlite", "postgres", "memory")("LEDGERLINE_STORE").pipe(Config.withDefault("sqlite" as const))
    if (kind === "memory") return Memory.layer
    const store = yield* SqlStores.optionsConfig
    if (kind === "postgres") {
      const url = yield* Config.redacted("DATABASE_URL").pipe(Config.withDefault(Redacted.make("postgres://127.0.0.1:5432/postgres")))
      return PgEventStore.layer({ url, store })
    }
    const filename = yield* Config.string("LEDGERLINE_SQLITE_FILE").pipe(
      Config.orElse(() => Config.map(Config.string("LEDGERLINE_DATA_DIR").pipe(Config.withDefault("./data")), (d) => join(d, "ledgerline.db")))
    )
    return SqliteEventStore.layer({ filename, store })
  })
)
