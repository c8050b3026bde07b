import { HttpApiBuilder, HttpServer } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Duration, Effect, Layer } from "effect"
import { createServer } from "node:http"
import { LedgerlineApi } from "./adapters/http/Api.js"
import * as SystemHandlers from "./adapters/http/SystemHandlers.js"
import * as Memory from "./adapters/memory/index.js"
import { CommandHandlerConfig } from "./application/CommandHandler.js"
import { runLimitOrderFiller } from "./application/LimitOrderFiller.js"

/** Which stores to run; the durable adapters join this list as they are built. */
const storeKind = Config.literal("memory")("LEDGERLINE_STORE").pipe(Config.withDefault("memory" as const))

const StoresLive = Layer.unwrapEffect(Effect.map(storeKind, (kind) => ({ memory: Memory.layer })[kind]))

const HandlerConfigLive = Layer.effect(CommandHandlerConfig, Effect.gen(function*() {
  const snapshotEvery = yield* Config.integer("LEDGERLINE_SNAPSHOT_EVERY").pipe(Config.withDefault(100))
  const maxRetries = yield* Config.integer("LEDGERLINE_COMMAND_RETRIES").pipe(Config.withDefault(5))
  return { snapshotEvery, maxRetries, retryBase: Duration.millis(2) }
}))

/** Processes that follow the global log for as long as the service runs. */
const ProcessesLive = Layer.scopedDiscard(Effect.forkScoped(runLimitOrderFiller()))

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

HttpLive.pipe(
  Layer.merge(ProcessesLive),
  Layer.provide(HandlerConfigLive),
  Layer.provide(StoresLive),
  Layer.launch,
  NodeRuntime.runMain
)
