import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { runPgSuites } from "../adapters/postgres/pgTest.js"
import { runRedisSuites } from "../adapters/redis/redisTest.js"

/** The figures the benchmark promises (issue 6 and the portfolio query of issue 5). */
const REQUIRED = [
  "store.append.memory.events_per_s", "store.append.sqlite.events_per_s", "store.append.postgres.events_per_s",
  "store.raw_pg_batch.events_per_s",
  "peer.emmett_pg.events_per_s", "peer.emmett_pg.p99_ms",
  ...["sqlite", "postgres"].flatMap((s) => ["trades_per_s", "p50_ms", "p99_ms", "p999_ms"].map((k) => `command.${s}.${k}`)),
  "http.orders.trades_per_s", "http.orders.p99_ms", "http.health.requests_per_s",
  "replay.events_per_min",
  "query.portfolio.p95_ms", "query.portfolio.read_model.p50_ms", "query.portfolio.read_model.p95_ms",
  "event.bytes_avg"
]
const WITH_REDIS = ["query.portfolio.redis.p50_ms", "query.portfolio.redis.p95_ms"]

/**
 * CI's proof that the harness works: the quick mode of every scenario runs through `npm run bench`
 * and writes every figure as a positive number. It never judges speed (CI machines vary).
 */
describe("npm run bench -- --quick", () => {
  it.runIf(runPgSuites)("runs every scenario and writes every figure as a positive number", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ledgerline-bench-test-"))
    try {
      const out = join(dir, "quick.json")
      const began = performance.now()
      const run = await new Promise<{ code: number | null; output: string }>((resolve) => {
        execFile("npm", ["run", "-s", "bench", "--", "--quick", "--out", out], { maxBuffer: 64 * 1024 * 1024, timeout: 280_000 },
          (error, stdout, stderr) => resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, output: stdout + stderr }))
      })
      // where it went wrong (a crash prints the error first, then objects) and how it ended
      const failedAt = Math.max(0, run.output.search(/Unhandled|Error:|error:/))
      expect(run.code, `${run.output.slice(failedAt, failedAt + 2500)}\n…\n${run.output.slice(-1500)}`).toBe(0)
      console.log(`npm run bench -- --quick took ${((performance.now() - began) / 1000).toFixed(1)} s`)
      const results = JSON.parse(readFileSync(out, "utf8")) as Record<string, unknown>
      const required = runRedisSuites ? [...REQUIRED, ...WITH_REDIS] : REQUIRED
      const bad = required.filter((k) => !(typeof results[k] === "number" && Number.isFinite(results[k]) && (results[k] as number) > 0))
      expect(bad.map((k) => `${k} = ${JSON.stringify(results[k])}`)).toEqual([])
      // every target is judged from measured figures: none is left "not measured"
      const targets = results.targets as ReadonlyArray<{ target: string; pass: boolean | null }>
      expect(targets.length).toBeGreaterThanOrEqual(9)
      expect(targets.filter((t) => typeof t.pass !== "boolean").map((t) => t.target)).toEqual([])
      expect(results.mode).toBe("quick")
      expect(run.output).toContain("target")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 300_000)
})
