import { Array as Arr, Effect, Redacted } from "effect"
import { Redis } from "ioredis"
import * as Auth from "../../src/adapters/http/Auth.js"
import * as OpenLoop from "../lib/OpenLoop.js"
import * as Progress from "../lib/Progress.js"
import { putLatency, type Results } from "../lib/Results.js"
import { saturate } from "../lib/Saturate.js"
import * as Service from "../lib/Service.js"
import * as Sides from "../lib/Sides.js"
import type { Settings } from "../lib/Settings.js"
import { cpuMark, cpuSince } from "../lib/Stats.js"
import * as Steps from "../lib/Steps.js"
import { freshSchema } from "../lib/Targets.js"
import { SYMBOLS } from "./Command.js"

const { f } = Progress
const TTL = 6 * 3600

interface Trader {
  readonly accountId: string
  readonly token: string
  readonly symbol: string
  readonly sides: Sides.Sides
}

const sign = (user: string, ...roles: ReadonlyArray<Auth.Role>) =>
  Effect.promise(() => Auth.sign(Redacted.make(Service.JWT_SECRET), user, roles, TTL))

/** Markets with a price and funded accounts with risk limits, through the API as a desk would; the last position written. */
const setUp = (s: Settings, client: Service.Client) =>
  Effect.gen(function*() {
    const risk = yield* sign("bench-risk", "risk")
    const symbols = SYMBOLS.slice(0, s.command.symbols)
    for (const symbol of symbols) {
      yield* Effect.promise(() => client.json("POST", `/v1/markets/${symbol}/open`, risk, { priceBand: "0.05", orderBand: "0.10", haltOnAnomaly: false }, 200))
      yield* Effect.promise(() => client.json("POST", `/v1/markets/${symbol}/prices`, risk, { price: "100.00", timestamp: new Date().toISOString() }, 200))
    }
    let last = 0
    const traders = yield* Effect.forEach(Arr.range(0, s.http.accounts - 1), (i) =>
      Effect.gen(function*() {
        const user = `bench-trader-${i}`
        const token = yield* sign(user, "trader")
        const opened = yield* Effect.promise(() => client.json("POST", "/v1/accounts", token, {
          customerId: user, accountType: "INDIVIDUAL", currency: "USD", initialBalance: "1000000000.00"
        }, 201))
        const accountId = String(opened.accountId)
        const limits = yield* Effect.promise(() => client.json("PUT", `/v1/accounts/${accountId}/risk-limits`, risk, {
          maxOrderNotional: "1000000.00", maxPositionPerSymbol: "1000000.00", maxGrossExposure: "1000000000.00", allowShort: false
        }, 200))
        last = Math.max(last, Number(limits.position))
        return { accountId, token, symbol: symbols[i % symbols.length]!, sides: Sides.make() } satisfies Trader
      }), { concurrency: 16 })
    return { traders, last }
  })

let orderKeys = 0

/** POST a MARKET order of 1 share, BUY and SELL in turn per account (lib/Sides); a success is 201 FILLED. */
const orderSender = (client: Service.Client, traders: ReadonlyArray<Trader>) => {
  let next = 0
  let highest = 0
  const statuses = new Map<string, number>()
  const send = () => {
    const trader = traders[next++ % traders.length]!
    const side = trader.sides.next()
    const body = JSON.stringify({ symbol: trader.symbol, side, type: "MARKET", quantity: "1" })
    return client.send("POST", `/v1/accounts/${trader.accountId}/orders`, {
      authorization: `Bearer ${trader.token}`, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)),
      "idempotency-key": `bench-${process.pid}-${orderKeys++}`
    }, body).then((r) => {
      if (r.status !== 201) statuses.set(String(r.status), (statuses.get(String(r.status)) ?? 0) + 1)
      const position = POSITION.exec(r.body)
      if (position !== null) highest = Math.max(highest, Number(position[1]))
      return r.status === 201 && r.body.includes("\"FILLED\"")
    }, () => false).then((filled) => {
      trader.sides.done(side, filled)
      return filled
    })
  }
  /** The highest log position an answered order reported. */
  return { send, statuses, highest: () => highest }
}

const POSITION = /"position":(\d+)/

/** GET the portfolio of the accounts in turn, each with its owner's token; a success is 200. */
const portfolioReader = (client: Service.Client, traders: ReadonlyArray<Trader>) => {
  let next = 0
  return () => {
    const trader = traders[next++ % traders.length]!
    return client.send("GET", `/v1/accounts/${trader.accountId}/portfolio`, { authorization: `Bearer ${trader.token}` })
      .then((r) => r.status === 200)
  }
}

/** Waits until every read model has projected `position`. */
const projected = (client: Service.Client, trader: Trader, position: number) =>
  Effect.promise(async () => {
    for (let i = 0; i < 60; i++) {
      const r = await client.send("GET", `/v1/accounts/${trader.accountId}/portfolio?minPosition=${position}`, { authorization: `Bearer ${trader.token}` })
      if (r.status === 200) return
    }
    throw new Error(`the read models did not reach position ${position}`)
  })

/**
 * query.portfolio.<read_model|redis>: GET /v1/accounts/{id}/portfolio open loop at `queryRate`
 * while orders are POSTed open loop at `writeRate` on the same server; the GETs' latencies.
 */
const queryWhileWriting = (
  s: Settings, label: string, client: Service.Client, traders: ReadonlyArray<Trader>,
  rates: { readonly read: number; readonly write: number }
) =>
  Effect.promise(async () => {
    Progress.line(`${label}: GET portfolio at ${f(rates.read)}/s while POSTing orders at ${f(rates.write)}/s, ` +
      `${s.stepWarmupSeconds} s warm-up + ${s.http.querySeconds} s`)
    const orders = orderSender(client, traders)
    const common = { warmupSeconds: s.stepWarmupSeconds, seconds: s.http.querySeconds, maxInFlight: 10_000, drainSeconds: s.drainSeconds }
    const cpu = cpuMark()
    const [reads, writes] = await Promise.all([
      OpenLoop.run({
        ...common, rate: rates.read,
        onProgress: (p) => Progress.status(`${label}: ${f(p.elapsedSeconds, 1)}/${f(p.totalSeconds, 1)} s, ${f(p.ok)} reads, p99 so far ${f(p.p99, 2)} ms`)
      }, portfolioReader(client, traders)),
      OpenLoop.run({ ...common, rate: rates.write }, orders.send)
    ])
    const machineBusy = cpuSince(cpu).machineBusy
    await Promise.all([OpenLoop.settle(reads, s.drainSeconds * 3), OpenLoop.settle(writes, s.drainSeconds * 3)])
    Progress.line(`${label}: reads ${Steps.describe(reads)}`)
    Progress.line(`${label}: writes meanwhile ${Steps.describe(writes)}`)
    return { reads, writes, machineBusy }
  })

const redisReachable = (url: string) =>
  Effect.promise(async () => {
    const client = new Redis(url, { lazyConnect: true, connectTimeout: 2000, enableOfflineQueue: false, retryStrategy: () => null })
    client.on("error", () => {})
    try {
      await client.connect()
      await client.ping()
      return true
    } catch {
      return false
    } finally {
      client.disconnect()
    }
  })

const deleteKeys = (url: string, prefix: string) =>
  Effect.promise(async () => {
    const client = new Redis(url, { lazyConnect: true, connectTimeout: 2000, enableOfflineQueue: false, retryStrategy: () => null })
    client.on("error", () => {})
    try {
      await client.connect()
      let cursor = "0"
      do {
        const [next, keys] = await client.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 1000)
        if (keys.length > 0) await client.del(...keys)
        cursor = next
      } while (cursor !== "0")
    } catch {
      // clean-up only: the keys expire anyway
    } finally {
      client.disconnect()
    }
  })

/** A service on `env` for the scope, with a keep-alive client. */
const serve = (s: Settings, env: Record<string, string>) =>
  Effect.gen(function*() {
    const service = yield* Service.start(env)
    const client = yield* Effect.acquireRelease(Effect.sync(() => Service.client(service.port, s.http.sockets)), (c) => Effect.sync(c.close))
    return { service, client }
  })

/**
 * The service over HTTP, spawned as `npm start` runs it, on PostgreSQL (a fresh schema), the
 * simulator off, driven over loopback keep-alive connections by this process:
 * http.health (closed-loop ceiling), http.orders (open-loop steps), and the portfolio queries
 * while trades are written, without and with the Redis cache (the same schema, the service restarted).
 */
export const run = (s: Settings, results: Results) =>
  Effect.scoped(Effect.gen(function*() {
    const { url } = yield* freshSchema(s.pgUrl)
    const base = { LEDGERLINE_STORE: "postgres", DATABASE_URL: url, LEDGERLINE_CACHE: "none" }
    const { traders, rates } = yield* Effect.scoped(Effect.gen(function*() {
      Progress.line(`http: starting the service (LEDGERLINE_STORE=postgres, LEDGERLINE_CACHE=none)`)
      const { service, client } = yield* serve(s, base)
      Progress.line(`http: opening ${f(s.http.accounts)} accounts and ${s.command.symbols} markets over HTTP`)
      const { traders, last } = yield* setUp(s, client)

      Progress.line(`http.health: ${s.http.sockets} connections, closed loop, ${s.warmupSeconds} s warm-up + ${s.http.healthSeconds} s`)
      const cpu0 = service.cpuSeconds()
      const health = yield* saturate({
        workers: s.http.sockets, warmupSeconds: s.warmupSeconds, seconds: s.http.healthSeconds,
        onProgress: (n, secs) => Progress.status(`http.health: ${f(n)} requests in ${f(secs, 1)} s (${f(n / secs)}/s)`)
      }, () => Effect.succeed(Effect.promise(() => client.send("GET", "/health", {}).then((r) => {
        if (r.status !== 200) throw new Error(`GET /health: ${r.status}`)
        return 1
      }))))
      const serviceCores = (service.cpuSeconds() - cpu0) / (s.warmupSeconds + health.seconds)
      Progress.line(`http.health: ${f(health.eventsPerSecond)} requests/s, p50 ${f(health.latency.p50, 2)} ms, p99 ${f(health.latency.p99, 2)} ms; ` +
        `machine CPU ${f(health.machineBusy * 100)}%, service ${f(serviceCores, 2)} cores, this client ${f(health.nodeCores, 2)} cores`)
      results["http.health.requests_per_s"] = health.eventsPerSecond
      putLatency(results, "http.health", health.latency)
      results["http.health.connections"] = s.http.sockets
      results["http.health.service_cores"] = serviceCores
      results["http.health.machine_cpu_busy"] = health.machineBusy

      const orders = orderSender(client, traders)
      const found = yield* Steps.findRate({
        label: "http.orders", rates: s.http.rates, refine: s.http.refine, warmupSeconds: s.stepWarmupSeconds, seconds: s.stepSeconds,
        maxInFlight: 20_000, drainSeconds: s.drainSeconds
      }, orders.send)
      Steps.put(results, "http.orders", "trades_per_s", found)
      results["http.orders.accounts"] = traders.length
      results["http.orders.connections"] = s.http.sockets
      results["http.orders.non_201"] = Object.fromEntries(orders.statuses)
      if (orders.statuses.size > 0) Progress.line(`http.orders: answers other than 201: ${JSON.stringify(Object.fromEntries(orders.statuses))}`)

      // the reads run next to a write load the service sustains: half its best passing rate, at most queryWriteRate
      const sustained = found.best?.achievedRate ?? Math.min(...found.steps.map((x) => x.achievedRate))
      const writeRate = Math.max(1, Math.round(Math.min(s.http.queryWriteRate, sustained / 2)))
      // and the reads at a rate its HTTP stack has room for: at most a quarter of the /health ceiling
      const rates = { read: Math.max(1, Math.round(Math.min(s.http.queryRate, health.eventsPerSecond / 4))), write: writeRate }
      // the order steps overload the service on purpose: the reads are timed from when the read
      // models have caught up with them, not while the projections work off that backlog
      const caughtUp = Date.now()
      yield* projected(client, traders[0]!, Math.max(last, orders.highest()))
      Progress.line(`http: the read models reached position ${f(Math.max(last, orders.highest()))} after ${f((Date.now() - caughtUp) / 1000, 1)} s`)
      const q = yield* queryWhileWriting(s, "query.portfolio.read_model", client, traders, rates)
      putLatency(results, "query.portfolio.read_model", q.reads.latency)
      results["query.portfolio.read_model.reads_per_s"] = q.reads.achievedRate
      results["query.portfolio.read_model.writes_per_s"] = q.writes.achievedRate
      results["query.portfolio.read_model.failed"] = q.reads.failed + q.reads.dropped + q.reads.unfinished
      results["query.portfolio.read_model.machine_cpu_busy"] = q.machineBusy
      return { traders, rates }
    }))

    if (!(yield* redisReachable(s.redisUrl))) {
      Progress.line(`*** Redis at ${s.redisUrl} is unreachable: SKIPPING query.portfolio.redis ***`)
    } else {
      const prefix = `ledgerline-bench-${process.pid}-${Date.now().toString(36)}:`
      yield* Effect.addFinalizer(() => deleteKeys(s.redisUrl, prefix))
      yield* Effect.scoped(Effect.gen(function*() {
        Progress.line(`http: restarting the service on the same schema with LEDGERLINE_CACHE=redis`)
        const { client } = yield* serve(s, { ...base, LEDGERLINE_CACHE: "redis", REDIS_URL: s.redisUrl, LEDGERLINE_CACHE_PREFIX: prefix })
        // the first service ran the whole order phase before its reads; this one reads every portfolio once first (not timed)
        const read = portfolioReader(client, traders)
        yield* Effect.promise(() => Promise.all(traders.map(() => read())))
        const q = yield* queryWhileWriting(s, "query.portfolio.redis", client, traders, rates)
        putLatency(results, "query.portfolio.redis", q.reads.latency)
        results["query.portfolio.redis.reads_per_s"] = q.reads.achievedRate
        results["query.portfolio.redis.writes_per_s"] = q.writes.achievedRate
        results["query.portfolio.redis.failed"] = q.reads.failed + q.reads.dropped + q.reads.unfinished
        results["query.portfolio.redis.machine_cpu_busy"] = q.machineBusy
      }))
    }

    // the figure of record: the better of the service's two configurations, named in query.portfolio.cache
    const plain = results["query.portfolio.read_model.p95_ms"]
    const redis = results["query.portfolio.redis.p95_ms"]
    const useRedis = typeof redis === "number" && typeof plain === "number" && redis < plain
    const chosen = useRedis ? "redis" : "read_model"
    results["query.portfolio.p50_ms"] = results[`query.portfolio.${chosen}.p50_ms`]
    results["query.portfolio.p95_ms"] = results[`query.portfolio.${chosen}.p95_ms`]
    results["query.portfolio.p99_ms"] = results[`query.portfolio.${chosen}.p99_ms`]
    results["query.portfolio.cache"] = useRedis ? "redis" : "none"
    results["query.portfolio.reads_per_s_offered"] = rates.read
    results["query.portfolio.writes_per_s_offered"] = rates.write
  }))
