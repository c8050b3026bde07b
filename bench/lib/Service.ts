import { Effect } from "effect"
import { type ChildProcess, spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { Agent, request } from "node:http"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

export const JWT_SECRET = "bench-secret-that-is-long-enough-for-hs256"
const ROOT = fileURLToPath(new URL("../../", import.meta.url))

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

export interface Reply {
  readonly status: number
  readonly body: string
}

/** An HTTP/1.1 client over keep-alive connections (at most `sockets`; further requests queue in the agent). */
export interface Client {
  readonly send: (method: string, path: string, headers: Record<string, string>, body?: string) => Promise<Reply>
  /** Like `send`, parsing a JSON body (throws on another status than `expect`). */
  readonly json: (method: string, path: string, token: string, body: unknown, expect: number) => Promise<Record<string, unknown>>
  readonly close: () => void
}

export const client = (port: number, sockets: number): Client => {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets })
  const send: Client["send"] = (method, path, headers, body) =>
    new Promise((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, method, path, agent, headers }, (res) => {
        const chunks: Array<Buffer> = []
        res.on("data", (c: Buffer) => chunks.push(c))
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }))
        res.on("error", reject)
      })
      req.on("error", reject)
      req.end(body)
    })
  const json: Client["json"] = async (method, path, token, body, expect) => {
    const text = body === undefined ? undefined : JSON.stringify(body)
    const reply = await send(method, path, {
      authorization: `Bearer ${token}`,
      ...(text === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) })
    }, text)
    if (reply.status !== expect) throw new Error(`${method} ${path}: ${reply.status} ${reply.body.slice(0, 300)}`)
    return JSON.parse(reply.body) as Record<string, unknown>
  }
  return { send, json, close: () => agent.destroy() }
}

export interface Service {
  readonly port: number
  readonly pid: number
  /** The service's CPU time so far (user + system seconds), from /proc; NaN where there is none. */
  readonly cpuSeconds: () => number
}

const cpuSecondsOf = (pid: number) => {
  try {
    // /proc/<pid>/stat: utime and stime are fields 14 and 15, in clock ticks (100 a second on Linux)
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch {
    return Number.NaN
  }
}

/**
 * The Node flags a package.json script runs Node with (the young generation's size, docs/adr/0025):
 * `start` for the service, `rebuild` for a replay, so what is measured runs as those run.
 */
export const scriptFlags = (script: "start" | "rebuild"): ReadonlyArray<string> => {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }
  return (scripts[script] ?? "").split(/\s+/).filter((word) => word.startsWith("--"))
}

export const startFlags = (): ReadonlyArray<string> => scriptFlags("start")

/**
 * More Node flags for the spawned service only, from `BENCH_SERVICE_FLAGS` (space-separated), to
 * profile it where it is measured: `BENCH_SERVICE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof"`.
 */
const serviceFlags = (): ReadonlyArray<string> => (process.env.BENCH_SERVICE_FLAGS ?? "").split(" ").filter((flag) => flag !== "")

/** Runs a bench entry point (relative to the repository) in a Node process of its own, with these flags; fails on a non-zero exit. */
export const runNode = (flags: ReadonlyArray<string>, entry: string, args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.async<void, Error>((resume) => {
    const child = spawn(process.execPath, [...flags, "--import", "tsx", entry, ...args], {
      cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "inherit", "inherit"]
    })
    child.once("error", (e) => resume(Effect.fail(e)))
    child.once("exit", (code, signal) =>
      resume(code === 0 ? Effect.void : Effect.fail(new Error(`${entry} exited with ${signal ?? code}`))))
    return Effect.sync(() => child.kill("SIGTERM"))
  })

/** Node's own flags in an `execArgv`, without the module loader's (`--require`, `--import` and their values). */
export const nodeFlags = (execArgv: ReadonlyArray<string>): ReadonlyArray<string> =>
  execArgv.filter((arg, i) =>
    arg.startsWith("--") && !/^--(require|import|eval)(=|$)/.test(arg) && !/^--(require|import|eval)$/.test(execArgv[i - 1] ?? ""))

/**
 * Starts the real service (`src/main.ts`, as `npm start` runs it) in its own process on a free
 * port, with the market simulator off and a known JWT secret; stops it (and waits for it) with the scope.
 */
export const start = (env: Record<string, string>) =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(Effect.sync(() => mkdtempSync(join(tmpdir(), "ledgerline-bench-http-"))), (d) =>
      Effect.sync(() => rmSync(d, { recursive: true, force: true })))
    const port = yield* Effect.promise(freePort)
    let output = ""
    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn(process.execPath, [...startFlags(), ...serviceFlags(), "--import", "tsx", "src/main.ts"], {
          cwd: ROOT,
          env: {
            ...process.env, PORT: String(port), HOST: "127.0.0.1", LEDGERLINE_DATA_DIR: dir, LEDGERLINE_JWT_SECRET: JWT_SECRET,
            LEDGERLINE_SIMULATOR: "off", ...env
          },
          stdio: ["ignore", "pipe", "pipe"]
        })
        child.stdout?.on("data", (d) => (output = (output + String(d)).slice(-20_000)))
        child.stderr?.on("data", (d) => (output = (output + String(d)).slice(-20_000)))
        return child
      }),
      (child: ChildProcess) =>
        Effect.promise(() =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            const kill = setTimeout(() => child.kill("SIGKILL"), 10_000)
            child.once("exit", () => {
              clearTimeout(kill)
              resolve()
            })
            child.kill("SIGTERM")
          }))
    )
    const probe = client(port, 1)
    const deadline = Date.now() + 60_000
    for (;;) {
      const up = yield* Effect.promise(() => probe.send("GET", "/health", {}).then((r) => r.status === 200, () => false))
      if (up) break
      if (child.exitCode !== null || Date.now() > deadline) {
        probe.close()
        return yield* Effect.dieMessage(`the service did not come up:\n${output}`)
      }
      yield* Effect.sleep("100 millis")
    }
    probe.close()
    return { port, pid: child.pid ?? 0, cpuSeconds: () => cpuSecondsOf(child.pid ?? 0) } satisfies Service
  })
