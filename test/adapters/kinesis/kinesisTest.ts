import { Duration, Effect, Layer, Schedule } from "effect"
import type { Server } from "node:http"
import { createRequire } from "node:module"
import type { AddressInfo } from "node:net"
import * as KinesisClient from "../../../src/adapters/kinesis/KinesisClient.js"

interface KinesaliteOptions {
  readonly createStreamMs?: number
  readonly deleteStreamMs?: number
  readonly updateStreamMs?: number
  readonly shardLimit?: number
}

/** kinesalite (CommonJS, untyped): an in-memory Kinesis whose factory returns an http.Server. */
const kinesalite = createRequire(import.meta.url)("kinesalite") as (options: KinesaliteOptions) => Server

/** An in-memory Kinesis on a free 127.0.0.1 port, closed with the scope. */
export const emulator = Effect.acquireRelease(
  Effect.async<{ readonly endpoint: string; readonly server: Server }>((resume) => {
    const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0 })
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ endpoint: `http://127.0.0.1:${port}`, server }))
    })
  }),
  ({ server }) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
      server.closeAllConnections()
    })
)

/** The Kinesis service on a fresh emulator, optionally wrapped (to count or fail calls). */
export const kinesisLayer = (wrap: (api: KinesisClient.KinesisApi) => KinesisClient.KinesisApi = (api) => api) =>
  Layer.scoped(KinesisClient.Kinesis, Effect.gen(function*() {
    const { endpoint } = yield* emulator
    return wrap(yield* KinesisClient.make({ endpoint, region: "us-east-1", maxAttempts: 1 }))
  }))

let streams = 0
/** A new stream of `shards` shards, ACTIVE. */
export const freshStream = (shards: number) =>
  Effect.gen(function*() {
    const name = `test-${process.pid}-${++streams}`
    yield* KinesisClient.ensureStream(name, shards)
    return name
  })

/** Waits (polling every 10 ms, at most `timeout`) until `check` holds; dies naming `what` if it never does. */
export const eventually = <E, R>(what: string, check: Effect.Effect<boolean, E, R>, timeout: Duration.DurationInput = Duration.seconds(10)) =>
  check.pipe(
    Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (ok) => ok }),
    Effect.timeoutFail({ duration: timeout, onTimeout: () => `timed out waiting for ${what}` }),
    Effect.orDieWith((e) => new Error(String(e)))
  )

/** Consumer settings that poll fast. */
export const fast = { minIdle: Duration.millis(5), maxIdle: Duration.millis(40) } as const
