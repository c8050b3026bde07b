import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Config, Console, Duration, Effect, Layer, Option, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { createServer } from "node:http"
import { join } from "node:path"
import { SqliteClient } from "@effect/sql-sqlite-node"
import * as Ed25519Signer from "./adapters/crypto/Ed25519Signer.js"
import * as BusCheckpoints from "./adapters/kinesis/BusCheckpoints.js"
import * as KinesisClient from "./adapters/kinesis/KinesisClient.js"
import * as KinesisConsumer from "./adapters/kinesis/KinesisConsumer.js"
import * as KinesisMarketFeed from "./adapters/kinesis/KinesisMarketFeed.js"
import * as KinesisPublisher from "./adapters/kinesis/KinesisPublisher.js"
import * as Auth from "./adapters/http/Auth.js"
import * as MemoryHotCache from "./adapters/memory/MemoryHotCache.js"
import * as MemoryLiveUpdates from "./adapters/memory/MemoryLiveUpdates.js"
import * as PgPool from "./adapters/postgres/PgPool.js"
import * as CachedReadModel from "./application/CachedReadModel.js"
import * as RedisCache from "./adapters/redis/index.js"
import { HttpAppLive } from "./adapters/http/Server.js"
import * as SimulatedFeed from "./adapters/simulator/SimulatedFeed.js"
import { runCheckpointer, verifyChain } from "./application/ChainVerification.js"
import { runEventRelay } from "./application/EventRelay.js"
import { CommandHandlerConfig } from "./application/CommandHandler.js"
import { runLimitOrderFiller } from "./application/LimitOrderFiller.js"
import { runMarketFeed } from "./application/MarketData.js"
import { runProjections } from "./application/Projections.js"
import { runProjectionsFromFeed } from "./application/ProjectionsFromFeed.js"
import * as Markets from "./application/Markets.js"
import { StoresLive } from "./cli/Stores.js"
import { decimal } from "./domain/Decimal.js"

// ---- settings (effect Config: a bad value stops start-up naming the variable) ----

const dataDir = Config.string("LEDGERLINE_DATA_DIR").pipe(Config.withDefault("./data"))
const storeKind = Config.literal("sqlite", "postgres", "memory", "dynamodb")("LEDGERLINE_STORE").pipe(Config.withDefault("sqlite" as const))

const SignerLive = Layer.unwrapEffect(Effect.gen(function*() {
  const file = yield* Config.string("LEDGERLINE_SIGNING_KEY_FILE").pipe(
    Config.orElse(() => Config.map(dataDir, (d) => join(d, "checkpoint-signing-key.pem")))
  )
  return Ed25519Signer.layerFile(file)
}))

/** LEDGERLINE_JWT_SECRET, or one generated on first start and kept in the data directory. */
const jwtSecret = Effect.gen(function*() {
  const given = yield* Config.option(Config.redacted("LEDGERLINE_JWT_SECRET"))
  if (Option.isSome(given)) return given.value
  const file = join(yield* dataDir, "jwt-secret")
  return yield* Effect.sync(() => {
    if (!existsSync(file)) {
      mkdirSync(join(file, ".."), { recursive: true })
      writeFileSync(file, randomBytes(32).toString("hex"), { mode: 0o600 })
    }
    return Redacted.make(readFileSync(file, "utf8").trim())
  })
})
const JwtSecretLive = Layer.effect(Auth.JwtSecret, jwtSecret)

const HandlerConfigLive = Layer.effect(CommandHandlerConfig, Effect.gen(function*() {
  const snapshotEvery = yield* Config.integer("LEDGERLINE_SNAPSHOT_EVERY").pipe(Config.withDefault(100))
  const maxRetries = yield* Config.integer("LEDGERLINE_COMMAND_RETRIES").pipe(Config.withDefault(5))
  const defaults = CommandHandlerConfig.defaultValue()
  const maxQueuedCommands = yield* Config.integer("LEDGERLINE_MAX_QUEUED_COMMANDS").pipe(
    Config.validate({ message: "must be 0 or more", validation: (n) => n >= 0 }),
    Config.withDefault(defaults.maxQueuedCommands)
  )
  return { ...defaults, snapshotEvery, maxRetries, maxQueuedCommands }
}))

/** Processes that follow the log for as long as the service runs. */
const ProcessesLive = Layer.scopedDiscard(Effect.gen(function*() {
  const checkpointEvery = yield* Config.duration("LEDGERLINE_CHECKPOINT_EVERY").pipe(Config.withDefault(Duration.minutes(1)))
  yield* Effect.forkScoped(runLimitOrderFiller())
  yield* Effect.forkScoped(runCheckpointer(checkpointEvery))
}))

/**
 * The markets the simulator opens: a tick may move 5 % (the walk moves well under 1 %), a LIMIT
 * price may sit 10 % from the last price, and an anomalous tick halts trading.
 */
const simulatedMarkets: Markets.MarketSettings = { priceBand: decimal("0.05"), orderBand: decimal("0.1"), haltOnAnomaly: true }

const resumingSimulator = SimulatedFeed.layerConfigResuming((symbol) =>
  Markets.marketView(symbol).pipe(
    Effect.map((view) => view.lastPrice),
    Effect.catchTag("EventStoreUnavailable", () => Effect.succeed(Option.none()))
  ))

/** LEDGERLINE_BUS=kinesis publishes the log to Kinesis and can take market data from a stream. */
const busKind = Config.literal("none", "kinesis")("LEDGERLINE_BUS").pipe(Config.withDefault("none" as const))

/**
 * The Kinesis client and the relay's and consumers' checkpoints: in the store's database, in memory
 * for the memory store, and in a SQLite file beside the read models when events live in DynamoDB.
 */
const KinesisLive = Layer.unwrapEffect(Effect.gen(function*() {
  const kind = yield* storeKind
  const checkpoints = kind === "memory"
    ? BusCheckpoints.layerMemory
    : kind === "postgres"
    ? BusCheckpoints.layerSql.pipe(Layer.provide(PgPool.layer({ ...(yield* PgPool.config), maxConnections: 2 })))
    : BusCheckpoints.layerSql.pipe(Layer.provide(SqliteClient.layer({ filename: join(yield* dataDir, "bus-checkpoints.db") })))
  return Layer.merge(KinesisClient.layerConfig, checkpoints)
}))

/** Against an emulator (KINESIS_ENDPOINT) missing streams are created; in AWS they must exist. */
const ensureOnEmulator = (stream: string) =>
  Effect.flatMap(Config.option(Config.string("KINESIS_ENDPOINT")), (endpoint) =>
    Option.isSome(endpoint) ? KinesisClient.ensureStream(stream, 2) : Effect.void)

const EventRelayLive = Layer.unwrapEffect(Effect.gen(function*() {
  if ((yield* busKind) !== "kinesis") return Layer.empty
  const stream = yield* KinesisPublisher.eventsStream
  yield* Effect.logInfo(`event relay: publishing the log to Kinesis stream ${stream}`)
  return Layer.scopedDiscard(Effect.gen(function*() {
    yield* ensureOnEmulator(stream)
    yield* Effect.forkScoped(runEventRelay())
  })).pipe(Layer.provide(KinesisPublisher.layer({ stream })), Layer.provide(KinesisLive))
}))

/**
 * The projections follow the store's log (LEDGERLINE_PROJECTIONS_SOURCE=store, the default) or the
 * Kinesis events stream (`kinesis`: a consumer per shard in position order, docs/adr/0015), which
 * a relay (this service with LEDGERLINE_BUS=kinesis, or another instance) must be publishing.
 */
const ProjectionsLive = Layer.unwrapEffect(Effect.gen(function*() {
  const source = yield* Config.literal("store", "kinesis")("LEDGERLINE_PROJECTIONS_SOURCE").pipe(Config.withDefault("store" as const))
  if (source === "store") {
    const pageInterval = yield* Config.duration("LEDGERLINE_PROJECTION_PAGE_INTERVAL").pipe(Config.withDefault(Duration.millis(10)))
    return Layer.scopedDiscard(Effect.forkScoped(runProjections({ pageInterval })))
  }
  const stream = yield* KinesisPublisher.eventsStream
  yield* Effect.logInfo(`projections: fed from Kinesis stream ${stream}`)
  return Layer.scopedDiscard(Effect.gen(function*() {
    yield* ensureOnEmulator(stream)
    yield* Effect.forkScoped(runProjectionsFromFeed(KinesisConsumer.eventFeed({ stream, consumer: "projections" })))
  })).pipe(Layer.provide(KinesisLive))
}))

/**
 * Market data: from a Kinesis stream (LEDGERLINE_MARKET_STREAM with LEDGERLINE_BUS=kinesis, the
 * simulator writing to it when on), or straight from the simulator (on unless LEDGERLINE_SIMULATOR=off).
 */
const MarketDataLive = Layer.unwrapEffect(Effect.gen(function*() {
  const simulate = yield* SimulatedFeed.enabled
  const options = { openMarkets: true, settings: simulatedMarkets } as const
  const marketStream = (yield* busKind) === "kinesis" ? yield* KinesisMarketFeed.marketStream : Option.none<string>()
  if (simulate) {
    const { instruments, ticksPerSecond } = yield* SimulatedFeed.config
    yield* Effect.logInfo(`market simulator: ${instruments.map((i) => i.symbol).join(", ")} at ${ticksPerSecond} tick(s)/s each`)
  }
  if (Option.isNone(marketStream)) {
    return simulate ? Layer.scopedDiscard(Effect.forkScoped(runMarketFeed(options))).pipe(Layer.provide(resumingSimulator)) : Layer.empty
  }
  const stream = marketStream.value
  return Layer.scopedDiscard(Effect.gen(function*() {
    yield* ensureOnEmulator(stream)
    yield* Effect.forkScoped(runMarketFeed(options).pipe(Effect.provide(KinesisMarketFeed.layer({ stream }))))
    if (simulate) {
      yield* Effect.forkScoped(KinesisMarketFeed.publishTicks(stream).pipe(
        Effect.catchAll((e) => Effect.logError("market data: the simulator stopped writing to Kinesis", e)),
        Effect.provide(resumingSimulator)
      ))
    }
  })).pipe(Layer.provide(KinesisLive))
}))

/**
 * The stores, with the read models behind the hot cache when LEDGERLINE_CACHE is memory (this
 * process only) or redis (REDIS_URL, shared by every instance, keys under LEDGERLINE_CACHE_PREFIX).
 * Only the service uses it: the CLIs (rebuild, check-consistency) read the read models themselves.
 */
const ServiceStoresLive = Layer.unwrapEffect(Effect.gen(function*() {
  const kind = yield* Config.literal("none", "memory", "redis")("LEDGERLINE_CACHE").pipe(Config.withDefault("none" as const))
  if (kind === "none") return StoresLive
  const cache = kind === "memory"
    ? Layer.merge(MemoryHotCache.layer, MemoryLiveUpdates.layer)
    : RedisCache.layer({
      url: yield* Config.redacted("REDIS_URL").pipe(Config.withDefault(Redacted.make("redis://127.0.0.1:6379"))),
      prefix: yield* Config.string("LEDGERLINE_CACHE_PREFIX").pipe(Config.withDefault("ledgerline:"))
    })
  yield* Effect.logInfo(`hot cache and live updates: ${kind}`)
  // LiveUpdates stays in the output: /v1/stream subscribes to it
  return CachedReadModel.layer().pipe(Layer.provideMerge(cache), Layer.provideMerge(StoresLive))
}))

const HttpLive = Layer.unwrapEffect(Effect.gen(function*() {
  const port = yield* Config.port("PORT").pipe(Config.withDefault(3000))
  const host = yield* Config.string("HOST").pipe(Config.withDefault("127.0.0.1"))
  const kind = yield* storeKind
  const heartbeat = yield* Config.duration("LEDGERLINE_STREAM_HEARTBEAT").pipe(Config.withDefault(Duration.seconds(15)))
  yield* Effect.logInfo(`Ledgerline on http://${host}:${port} (store: ${kind}); API docs at /docs, OpenAPI at /openapi.json`)
  yield* Effect.logInfo("a token: npm run token -- --user alice --role trader   (roles: trader, risk, auditor, admin)")
  return HttpAppLive(kind, { heartbeat }).pipe(Layer.provide(NodeHttpServer.layer(createServer, { port, host })))
}))

const serve = HttpLive.pipe(
  Layer.merge(ProcessesLive),
  Layer.merge(ProjectionsLive),
  Layer.merge(MarketDataLive),
  Layer.merge(EventRelayLive),
  Layer.provide(Layer.mergeAll(HandlerConfigLive, JwtSecretLive)),
  Layer.provide(Layer.merge(ServiceStoresLive, SignerLive)),
  Layer.launch
)

// ---- other commands ----

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
}).pipe(Effect.provide(Layer.merge(StoresLive, SignerLive)))

/** `token --user alice --role trader [--role risk] [--ttl 3600]`: a bearer token for the configured secret. */
const token = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const flag = (name: string) => args.flatMap((a, i) => (a === `--${name}` && args[i + 1] !== undefined ? [args[i + 1]!] : []))
    const user = flag("user")[0]
    const roles = flag("role")
    if (user === undefined || roles.length === 0) return yield* Effect.fail(new Error("usage: npm run token -- --user <id> --role <trader|risk|auditor|admin>"))
    const valid = roles.filter((r): r is Auth.Role => ["trader", "risk", "auditor", "admin"].includes(r))
    if (valid.length !== roles.length) return yield* Effect.fail(new Error(`unknown role in: ${roles.join(", ")}`))
    const ttl = Number(flag("ttl")[0] ?? 3600)
    const secret = yield* jwtSecret
    yield* Console.log(yield* Effect.promise(() => Auth.sign(secret, user, valid, ttl)))
  })

const [command = "serve", ...args] = process.argv.slice(2)
const program = command === "serve"
  ? serve
  : command === "verify"
  ? verify
  : command === "token"
  ? token(args)
  : Effect.fail(new Error(`unknown command: ${command} (serve | verify | token)`))
program.pipe(NodeRuntime.runMain)
