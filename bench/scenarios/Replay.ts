import { Effect } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Phases from "../lib/Phases.js"
import * as Progress from "../lib/Progress.js"
import type { Results } from "../lib/Results.js"
import { runNode, scriptFlags } from "../lib/Service.js"
import type { Settings } from "../lib/Settings.js"
import { cpuMark, cpuSince } from "../lib/Stats.js"
import * as Targets from "../lib/Targets.js"
import { knobs } from "./StoreAppend.js"

const { f } = Progress
const PAGE = 5000

/**
 * replay.events_per_min, in a Node process of its own with the flags `npm run rebuild` runs with
 * (the young generation's size, docs/adr/0025): a replay is a batch job, not the service, and the
 * service's flags are for latency. `bench/replay.ts` runs `inProcess` and hands back its results.
 */
export const run = (s: Settings, results: Results) =>
  Effect.gen(function*() {
    const dir = mkdtempSync(join(tmpdir(), "ledgerline-bench-replay-"))
    const out = join(dir, "results.json")
    const flags = scriptFlags("rebuild")
    yield* runNode(flags, "bench/replay.ts", s.quick ? ["--quick"] : [], { BENCH_REPLAY_OUT: out, BENCH_PG_URL: s.pgUrl }).pipe(
      Effect.ensuring(Effect.sync(() => {
        try {
          Object.assign(results, JSON.parse(readFileSync(out, "utf8")) as Results)
        } catch {
          // no results: the process failed, and says why
        }
        rmSync(dir, { recursive: true, force: true })
      }))
    )
    results["replay.node_flags"] = flags.join(" ")
  })

/**
 * The replay itself: a PostgreSQL log of `replay.events` events (AccountOpened + fills over
 * `replay.accounts` accounts, written first and not timed), then readAll page by page (the next
 * page read while the current one is decoded) + Avro decode + the portfolio fold of every account.
 */
export const inProcess = (s: Settings, results: Results) =>
  Effect.scoped(Effect.gen(function*() {
    const target = yield* Targets.postgres(knobs(s))
    yield* Effect.gen(function*() {
      Progress.line(`replay: writing ${f(s.replay.events)} events over ${f(s.replay.accounts)} accounts (not timed)`)
      const loaded = yield* Phases.load(
        { events: s.replay.events, accounts: s.replay.accounts, chunk: 250, writers: 16 },
        (n) => Progress.status(`replay: ${f(n)} of ${f(s.replay.events)} written`)
      )
      Progress.line(`replay: wrote ${f(loaded.events)} events in ${f(loaded.seconds, 1)} s; replaying (readAll + decode + portfolio fold)`)
      const cpu = cpuMark()
      const replay = yield* Phases.replay({ pageSize: PAGE, fold: "portfolio" })
      results["replay.machine_cpu_busy"] = cpuSince(cpu).machineBusy
      Progress.line(`replay: ${f(replay.events)} events of ${f(replay.accounts)} accounts in ${f(replay.seconds, 1)} s: ` +
        `${f(replay.eventsPerMinute)} events/min (per event: read wait ${f(replay.readWaitMicros, 1)} µs, ` +
        `decode ${f(replay.decodeMicros, 1)} µs, fold ${f(replay.foldMicros, 1)} µs)`)
      results["replay.events_per_min"] = replay.eventsPerMinute
      results["replay.events"] = replay.events
      results["replay.seconds"] = replay.seconds
      results["replay.read_wait_us_per_event"] = replay.readWaitMicros
      results["replay.decode_us_per_event"] = replay.decodeMicros
      results["replay.fold_us_per_event"] = replay.foldMicros
    }).pipe(Effect.provide(target.layer))
  }))
