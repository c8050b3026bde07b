/**
 * The benchmark of record: where Ledgerline stands on each target, against the raw limit of its
 * storage and against a peer, in one run on one machine. `npm run bench` (full, writes
 * bench/results/latest.json), `npm run bench -- --quick` (a small version of every scenario, writes
 * bench/results/quick.json; proves the harness, never judges speed), `--out <file>`,
 * `--only store,raw,peer,bytes,replay,command,http`. BENCH_PG_URL and BENCH_REDIS_URL pick the servers.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Effect, Exit, Logger, LogLevel } from "effect"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { cpus, loadavg, platform, release, totalmem } from "node:os"
import { dirname } from "node:path"
import { fileURLToPath } from "node:url"
import * as Progress from "./lib/Progress.js"
import * as Report from "./lib/Report.js"
import type { Results } from "./lib/Results.js"
import * as Settings from "./lib/Settings.js"
import { nodeFlags } from "./lib/Service.js"
import { onServer } from "./lib/Targets.js"
import * as Command from "./scenarios/Command.js"
import * as Emmett from "./scenarios/Emmett.js"
import * as EventBytes from "./scenarios/EventBytes.js"
import * as Http from "./scenarios/Http.js"
import * as RawPg from "./scenarios/RawPg.js"
import * as Replay from "./scenarios/Replay.js"
import * as StoreAppend from "./scenarios/StoreAppend.js"

const DOCS = fileURLToPath(new URL("../docs/benchmarks.md", import.meta.url))
const BEGIN = "<!-- bench:begin (npm run bench rewrites this part) -->"
const END = "<!-- bench:end -->"

const scenarios: Record<Settings.Scenario, (s: Settings.Settings, results: Results) => Effect.Effect<void, unknown>> = {
  store: StoreAppend.run,
  raw: RawPg.run,
  peer: Emmett.run,
  bytes: EventBytes.run,
  replay: Replay.run,
  command: Command.run,
  http: Http.run
}

const program = Effect.gen(function*() {
  const s = Settings.parse(process.argv.slice(2))
  const machine = {
    cpu: cpus()[0]?.model ?? "?", cores: cpus().length, memory_gb: Math.round(totalmem() / 2 ** 30), node: process.version,
    node_flags: nodeFlags(process.execArgv), os: `${platform()} ${release()}`
  }
  const [pg] = yield* onServer(s.pgUrl, (sql) => sql<{ version: string }>`SELECT current_setting('server_version') AS version`)
  const flags = [...(s.quick ? ["--quick"] : []), ...(s.scenarios.length < Settings.SCENARIOS.length ? ["--only", s.scenarios.join(",")] : [])]
  const command = `npm run bench${flags.length > 0 ? ` -- ${flags.join(" ")}` : ""}`
  Progress.line(`${command}: ${machine.cpu}, ${machine.cores} cores, node ${machine.node}, PostgreSQL ${pg?.version ?? "?"}; ` +
    `scenarios ${s.scenarios.join(", ")}`)
  const loadBefore = loadavg()
  const results: Results = {}
  const seconds: Record<string, number> = {}
  const failed: Record<string, string> = {}
  const collectGarbage = (globalThis as { gc?: () => void }).gc
  for (const name of s.scenarios) {
    // each scenario starts from a clean server: the previous one's dirty pages written out and its
    // WAL recycled now, not by a checkpoint that would start in the middle of this one's windows
    yield* onServer(s.pgUrl, (sql) => sql.unsafe("CHECKPOINT")).pipe(
      Effect.catchAllCause((cause) => Effect.sync(() => Progress.line(`(no CHECKPOINT before ${name}: ${Cause.pretty(cause).split("\n")[0]})`)))
    )
    // and from a collected heap in this process (npm run bench passes --expose-gc): the previous
    // scenario's garbage is not collected in this one's windows
    collectGarbage?.()
    const began = Progress.elapsed()
    // a scenario that fails is reported and the others still run; the run then exits non-zero
    yield* scenarios[name](s, results).pipe(Effect.catchAllCause((cause) =>
      Effect.sync(() => {
        failed[name] = Cause.pretty(cause)
        Progress.line(`*** ${name} FAILED ***\n${failed[name]}`)
      })))
    seconds[name] = Progress.elapsed() - began
  }

  const loadAfter = loadavg()
  const node = `node ${machine.node}${machine.node_flags.length > 0 ? ` (${machine.node_flags.join(" ")})` : ""}`
  const heading = `${command}; ${machine.cpu}, ${machine.cores} cores, ${node}, PostgreSQL ${pg?.version ?? "?"} on the same machine`
  console.log(`\nLedgerline benchmark (${heading})\n\n${Report.text(results)}\n`)
  console.log(`load average (1 min) at the start ${loadBefore[0]!.toFixed(2)}, at the end ${loadAfter[0]!.toFixed(2)}: ` +
    `anything else running on the machine shares its ${machine.cores} cores with the figures above\n`)
  if (s.quick) console.log("quick mode: small windows; these figures prove the harness works, they do not judge speed\n")

  const document = {
    when: new Date().toISOString(), command, mode: s.quick ? "quick" : "full", machine, postgres_version: pg?.version,
    load_average_start: loadBefore, load_average_end: loadAfter,
    config: {
      appenders: s.appenders, pg_max_connections: s.pgMaxConnections, group_commit_max: s.groupCommitMax, raw: s.raw,
      warmup_seconds: s.warmupSeconds, seconds: s.seconds, step_warmup_seconds: s.stepWarmupSeconds, step_seconds: s.stepSeconds,
      command: s.command, http: s.http, replay: s.replay, bytes_events: s.bytesEvents
    },
    scenario_seconds: seconds,
    ...(Object.keys(failed).length > 0 ? { failed_scenarios: failed } : {}),
    targets: Report.verdicts(results),
    ...results
  }
  mkdirSync(dirname(s.out), { recursive: true })
  writeFileSync(s.out, `${JSON.stringify(document, null, 2)}\n`)
  Progress.line(`wrote ${s.out}`)
  // a full run of every scenario into latest.json refreshes the tables in docs/benchmarks.md (between its markers)
  if (Object.keys(failed).length > 0) return yield* Effect.fail(new Error(`scenario(s) failed: ${Object.keys(failed).join(", ")}`))
  if (!s.quick && s.scenarios.length === Settings.SCENARIOS.length && !process.argv.includes("--out") && existsSync(DOCS)) {
    const doc = readFileSync(DOCS, "utf8")
    const begin = doc.indexOf(BEGIN)
    const end = doc.indexOf(END)
    if (begin >= 0 && end > begin) {
      const body = `${BEGIN}\n\n\`${command}\`, ${document.when.slice(0, 16).replace("T", " ")} UTC: ${machine.cpu}, ${machine.cores} cores, ` +
        `${machine.memory_gb} GB, ${node}, PostgreSQL ${pg?.version ?? "?"} on the same machine; load average ` +
        `${loadBefore[0]!.toFixed(2)} at the start, ${loadAfter[0]!.toFixed(2)} at the end.\n\n${Report.markdown(results)}\n\n`
      writeFileSync(DOCS, doc.slice(0, begin) + body + doc.slice(end))
      Progress.line(`updated the tables in ${DOCS}`)
    }
  }
})

// exit once done: a library's idle pool timer (the peer's migration pool) would otherwise hold the process ~10 s
NodeRuntime.runMain(program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning)), {
  teardown: (exit) => process.exit(Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause) ? 1 : 0)
})
