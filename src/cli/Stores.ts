import { SqliteClient } from "@effect/sql-sqlite-node"
import { Config, Context, Effect, Layer, Option } from "effect"
import { mkdirSync } from "node:fs"
import { dirname, join } from "node:path"
import * as DynamoClient from "../adapters/dynamodb/DynamoClient.js"
import * as DynamoEventStore from "../adapters/dynamodb/DynamoEventStore.js"
import * as Memory from "../adapters/memory/index.js"
import * as PgEventStore from "../adapters/postgres/PgEventStore.js"
import * as PgPool from "../adapters/postgres/PgPool.js"
import * as SqlCheckpointStore from "../adapters/sql/SqlCheckpointStore.js"
import * as SqlReadModel from "../adapters/sql/SqlReadModel.js"
import * as SqlStores from "../adapters/sql/SqlStores.js"
import * as SqliteEventStore from "../adapters/sqlite/SqliteEventStore.js"
import { CheckpointStore } from "../application/ports/Checkpoints.js"
import type { EventStore } from "../application/ports/EventStore.js"
import type { ReadModel } from "../application/ports/ReadModel.js"
import type { ReadModelStore } from "../application/ports/ReadModelStore.js"
import type { SnapshotStore } from "../application/ports/SnapshotStore.js"

/**
 * The SQL read side alone on a SQLite file: checkpoints and read models (with their schema), for an
 * event store that lives elsewhere.
 */
const sqliteReadSide = (filename: string): Layer.Layer<CheckpointStore | ReadModel | ReadModelStore, unknown> =>
  Layer.scopedContext(Effect.gen(function*() {
    const { engine } = SqliteEventStore
    yield* engine.migrate
    const checkpoints = yield* SqlCheckpointStore.make(engine.dialect.timestamp)
    return Context.merge(Context.make(CheckpointStore, checkpoints), yield* SqlReadModel.make(engine.readModel))
  })).pipe(Layer.provide(Layer.unwrapEffect(Effect.sync(() => {
    mkdirSync(dirname(filename), { recursive: true })
    return SqliteClient.layer({ filename })
  }))))

/**
 * The stores the service runs on, chosen from the same settings as `main.ts`: LEDGERLINE_STORE
 * (sqlite | postgres | memory | dynamodb), LEDGERLINE_SQLITE_FILE (or LEDGERLINE_DATA_DIR/ledgerline.db),
 * DATABASE_URL and LEDGERLINE_PG_PREPARE, the group-commit settings, and for DynamoDB: DYNAMODB_ENDPOINT, AWS_REGION and
 * LEDGERLINE_DYNAMODB_TABLE_PREFIX. DynamoDB holds the events and snapshots; checkpoints and read
 * models stay in the SQLite file. The service (`main.ts`) and every CLI use this one choice.
 */
export const StoresLive: Layer.Layer<EventStore | SnapshotStore | CheckpointStore | ReadModel | ReadModelStore, unknown> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const kind = yield* Config.literal("sqlite", "postgres", "memory", "dynamodb")("LEDGERLINE_STORE").pipe(Config.withDefault("sqlite" as const))
    if (kind === "memory") return Memory.layer
    const store = yield* SqlStores.optionsConfig
    if (kind === "postgres") {
      return PgEventStore.layer({ ...(yield* PgPool.config), store })
    }
    const filename = yield* Config.string("LEDGERLINE_SQLITE_FILE").pipe(
      Config.orElse(() => Config.map(Config.string("LEDGERLINE_DATA_DIR").pipe(Config.withDefault("./data")), (d) => join(d, "ledgerline.db")))
    )
    if (kind === "dynamodb") {
      const settings = yield* DynamoClient.config
      const prefix = yield* Config.string("LEDGERLINE_DYNAMODB_TABLE_PREFIX").pipe(Config.withDefault("ledgerline-"))
      yield* Effect.logInfo(`events in DynamoDB (${Option.getOrElse(Option.fromNullable(settings.endpoint), () => settings.region)}, ` +
        `tables ${prefix}*); read models in ${filename}`)
      // tables are created on start against an emulator; on AWS, by `npm run dynamodb:setup`
      return Layer.merge(DynamoEventStore.layer({ ...settings, prefix }), sqliteReadSide(filename))
    }
    return SqliteEventStore.layer({ filename, store })
  })
)
