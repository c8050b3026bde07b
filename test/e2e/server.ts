import { Effect, Redacted, Schedule } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as Auth from "../../src/adapters/http/Auth.js"

export const SECRET = "e2e-secret-that-is-long-enough-for-hs256"

const freePort = Effect.async<number>((resume) => {
  const server = createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

export interface Server {
  readonly url: string
  /** LEDGERLINE_DATA_DIR of the process (removed with the scope). */
  readonly dataDir: string
  readonly token: (user: string, ...roles: ReadonlyArray<Auth.Role>) => Effect.Effect<string>
  readonly call: (method: string, path: string, options?: { token?: string; body?: unknown; headers?: Record<string, string> }) =>
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the scenarios read JSON bodies field by field
    Effect.Effect<{ status: number; body: any; headers: Headers }>
}

/** Starts the real service (`src/main.ts`) in its own process on a free port; stops it with the scope. */
export const startServer = (env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(Effect.sync(() => mkdtempSync(join(tmpdir(), "ledgerline-e2e-"))), (d) =>
      Effect.sync(() => rmSync(d, { recursive: true, force: true })))
    const port = yield* freePort
    let output = ""
    yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
          env: {
            ...process.env, PORT: String(port), LEDGERLINE_DATA_DIR: dir, LEDGERLINE_JWT_SECRET: SECRET,
            LEDGERLINE_SIMULATOR: "off", ...env
          },
          stdio: ["ignore", "pipe", "pipe"]
        })
        child.stdout?.on("data", (d) => (output += String(d)))
        child.stderr?.on("data", (d) => (output += String(d)))
        return child
      }),
      (child: ChildProcess) => Effect.sync(() => child.kill("SIGTERM"))
    )
    const url = `http://127.0.0.1:${port}`
    const call: Server["call"] = (method, path, options = {}) =>
      Effect.promise(async () => {
        const response = await fetch(`${url}${path}`, {
          method,
          headers: {
            ...(options.body === undefined ? {} : { "content-type": "application/json" }),
            ...(options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }),
            ...options.headers
          },
          ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) })
        })
        const text = await response.text()
        let body: unknown = text
        try {
          body = JSON.parse(text)
        } catch { /* not JSON */ }
        return { status: response.status, body, headers: response.headers }
      })
    yield* Effect.tryPromise(() => fetch(`${url}/health`).then((r) => (r.ok ? r : Promise.reject(new Error(String(r.status)))))).pipe(
      Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo("30 seconds"))),
      Effect.orElse(() => Effect.dieMessage(`the server did not come up:\n${output}`))
    )
    const token = (user: string, ...roles: ReadonlyArray<Auth.Role>) =>
      Effect.promise(() => Auth.sign(Redacted.make(SECRET), user, roles))
    return { url, dataDir: dir, call, token } satisfies Server
  })
