import { HttpApiBuilder, HttpServer } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Duration, Effect, Layer, Option } from "effect"
import { createServer } from "node:http"
import * as Ed25519Signer from "./adapters/crypto/Ed25519Signer.js"
import { LedgerlineApi } from "./adapters/http/Api.js"
import * as SystemHandlers from "./adapters/http/SystemHandlers.js"
import * as Memory from "./adapters/memory/index.js"
import * as PgEventStore from "./adapters/postgres/PgEventStore.js"
import * as SqliteEventStore from "./adapters/sqlite/SqliteEventStore.js"
import { runCheckpointer, verifyChain } from "./application/ChainVerification.js"
import { CommandHandlerConfig } from "./application/CommandHandler.js"
import { runLimitOrderFiller } from "./application/LimitOrderFiller.js"
import type { CheckpointStore } from "./application/ports/Checkpoints.js"
import type { EventStore } from "./application/ports/EventStore.js"
import type { SnapshotStore } from "./application/ports/SnapshotStore.js"

/** Which stores to run: SQLite (a file under ./data) unless told otherwise. */
const storeKind = Config.literal("sqlite", "postgres", "memory")("LEDGERLINE_STORE").pipe(Config.withDefault("sqlite" as const))

const StoresLive: Layer.Layer<EventStore | SnapshotStore | CheckpointStore, unknown> = Layer.unwrapEffect(
  Effect.map(storeKind, (kind) => ({ sqlite: SqliteEventStore.layerConfig, postgres: PgEventStore.layerConfig, memory: Memory.layer })[kind])
)

const HandlerConfigLive = Layer.effect(CommandHandlerConfig, Effect.gen(function*() {
  const snapshotEvery = yield* Config.integer("LEDGERLINE_SNAPSHOT_EVERY").pipe(Config.withDefault(100))
  const maxRetries = yield* Config.integer("LEDGERLINE_COMMAND_RETRIES").pipe(Config.withDefault(5))
  return { snapshotEvery, maxRetries, retryBase: Duration.millis(2) }
}))

/** Processes that follow the log for as long as the service runs. */
const ProcessesLive = Layer.scopedDiscard(Effect.gen(function*() {
  const checkpointEvery = yield* Config.duration("LEDGERLINE_CHECKPOINT_EVERY").pipe(Config.withDefault(Duration.minutes(1)))
  yield* Effect.forkScoped(runLimitOrderFiller())
  yield* Effect.forkScoped(runCheckpointer(checkpointEvery))
}))

const HttpLive = Layer.unwrapEffect(Effect.gen(function*() {
  const port = yield* Config.port("PORT").pipe(Config.withDefault(8080))
  const host = yield* Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
  const kind = yield* storeKind
  yield* Effect.logInfo(`Ledgerline: event store ${kind}`)
  return HttpApiBuilder.serve().pipe(
    HttpServer.withLogAddress,
    Layer.provide(HttpApiBuilder.api(LedgerlineApi)),
    Layer.provide(SystemHandlers.layer(kind)),
    Layer.provide(NodeHttpServer.layer(createServer, { port, host }))
  )
}))

const serve = HttpLive.pipe(
  Layer.merge(ProcessesLive),
  Layer.provide(HandlerConfigLive),
  Layer.provide(Layer.merge(StoresLive, Ed25519Signer.layerConfig)),
  Layer.launch
)

/** `verify`: walk the log, recompute every link, check the signed checkpoints; exit 1 when broken. */
const verify = Effect.gen(function*() {
  const report = yield* verifyChain()
  if (report._tag === "Intact") {
    yield* Console.log(`chain intact: ${report.events} events, positions ${report.from.position + 1}..${report.head.position}, ` +
      `head ${report.head.hash}, ${report.checkpoints} signed checkpoint(s) hold`)
    return
  }
  yield* Console.error(`chain BROKEN at position ${report.position}` +
    `${Option.match(report.eventId, { onNone: () => "", onSome: (id) => ` (event ${id})` })}: ${report.problem}\n${report.detail}`)
  process.exitCode = 1
}).pipe(Effect.provide(Layer.merge(StoresLive, Ed25519Signer.layerConfig)))

const command = process.argv[2] ?? "serve"
const program = command === "verify" ? verify : command === "serve" ? serve : Effect.dieMessage(`unknown command: ${command} (serve | verify)`)
program.pipe(NodeRuntime.runMain)
