import { expect } from "@effect/vitest"
import { Effect, Schedule } from "effect"
import { spawn } from "node:child_process"
import { fileURLToPath } from "node:url"
import { verifyChain } from "../../src/application/ChainVerification.js"
import { EventStore } from "../../src/application/ports/EventStore.js"
import { appendMany } from "./appender.js"

const script = fileURLToPath(new URL("./appender.ts", import.meta.url))

/** Runs the appender in a child process; resolves with its summary line. */
const child = (kind: "sqlite" | "postgres", target: string, aggregateId: string, count: number) =>
  Effect.async<{ appended: number; conflicts: number }, Error>((resume) => {
    const proc = spawn(process.execPath, ["--import", "tsx", script, kind, target, aggregateId, String(count), "child"], {
      stdio: ["ignore", "pipe", "pipe"]
    })
    let out = ""
    let err = ""
    proc.stdout.on("data", (chunk) => (out += String(chunk)))
    proc.stderr.on("data", (chunk) => (err += String(chunk)))
    proc.on("exit", (code) =>
      resume(code === 0
        ? Effect.try({ try: () => JSON.parse(out.trim().split("\n").pop()!) as { appended: number; conflicts: number }, catch: () => new Error(out) })
        : Effect.fail(new Error(`appender exited with ${code}: ${err}`))))
  })

/**
 * Two processes append to the same aggregate at once through the same database: every append
 * lands exactly once, versions stay dense, and the chain still verifies.
 */
export const twoProcessesOnOneAggregate = (kind: "sqlite" | "postgres", target: string, count = 300) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    // the parent starts once the child's first append has landed, so the two really overlap
    const childStarted = store.getEvents("contested-1", { limit: 1 }).pipe(
      Effect.filterOrFail((events) => events.length > 0, () => new Error("child not started")),
      Effect.retry(Schedule.spaced("10 millis").pipe(Schedule.upTo("30 seconds")))
    )
    const [mine, theirs] = yield* Effect.all([
      Effect.zipRight(childStarted, appendMany("contested-1", count, "parent")),
      child(kind, target, "contested-1", count)
    ], { concurrency: 2 })
    const stream = yield* store.getEvents("contested-1", { limit: 10 * count })
    expect(stream.map((e) => e.version)).toEqual(Array.from({ length: 2 * count }, (_, i) => i + 1))
    expect(new Set(stream.map((e) => e.eventId)).size).toBe(2 * count)
    expect(stream.filter((e) => e.metadata.userId === "child")).toHaveLength(count)
    expect(mine.appended + theirs.appended).toBe(2 * count)
    expect(yield* verifyChain()).toMatchObject({ _tag: "Intact", events: 2 * count })
    expect(mine.conflicts + theirs.conflicts, "the two writers never met").toBeGreaterThan(0)
  })
