import { Effect, Redacted } from "effect"
import { Redis } from "ioredis"
import * as RedisCache from "../../../src/adapters/redis/index.js"

/** The server the Redis suites use; each test works under a key prefix of its own. */
export const REDIS_URL = process.env.LEDGERLINE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379"

/** A short-lived client for the tests themselves (checks and clean-up), not the adapter's. */
const withClient = async <A>(f: (client: Redis) => Promise<A>): Promise<A> => {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2000, enableOfflineQueue: false, retryStrategy: () => null })
  client.on("error", () => {})
  try {
    await client.connect()
    return await f(client)
  } finally {
    client.disconnect()
  }
}

const reachable = await withClient((c) => c.ping()).then(() => true, () => false)

/**
 * Whether the Redis suites run. Unreachable in CI is a failure (the suite runs and fails);
 * outside CI the suite is skipped with a loud line naming it.
 */
export const redisAvailable = reachable
if (!reachable && process.env.CI !== "true") {
  console.warn(`\n*** Redis at ${REDIS_URL} is unreachable: SKIPPING the Redis suites ***\n`)
}
export const runRedisSuites = reachable || process.env.CI === "true"

/** Every key under `prefix`, deleted. */
const deleteKeys = (prefix: string) =>
  Effect.promise(() =>
    withClient(async (client) => {
      let cursor = "0"
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
        if (keys.length > 0) await client.del(...keys)
        cursor = next
      } while (cursor !== "0")
    }).catch(() => undefined))

let counter = 0
/** A key prefix no other test (or run) uses; its keys are deleted when the scope closes. */
export const freshPrefix = Effect.acquireRelease(
  Effect.sync(() => `ledgerline-test:${process.pid}:${Date.now().toString(36)}:${counter++}:`),
  deleteKeys
)

/** The adapter on the test server under `prefix`: one API instance's connections. */
export const redisLayer = (prefix: string, url: string = REDIS_URL) => RedisCache.layer({ url: Redacted.make(url), prefix })
