/**
 * The replay scenario in a process of its own (`bench/scenarios/Replay.ts` starts it with the flags
 * of `npm run rebuild`): runs it and writes its results as JSON to BENCH_REPLAY_OUT.
 */
import { Effect } from "effect"
import { writeFileSync } from "node:fs"
import type { Results } from "./lib/Results.js"
import * as Settings from "./lib/Settings.js"
import { inProcess } from "./scenarios/Replay.js"

const out = process.env.BENCH_REPLAY_OUT
if (out === undefined) throw new Error("BENCH_REPLAY_OUT names the file the results go to")
const results: Results = {}
await Effect.runPromise(inProcess(Settings.parse([...process.argv.slice(2), "--only", "replay"]), results))
writeFileSync(out, JSON.stringify(results))
process.exit(0)
