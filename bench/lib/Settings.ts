import { fileURLToPath } from "node:url"

export const SCENARIOS = ["store", "raw", "peer", "bytes", "replay", "command", "http"] as const
export type Scenario = (typeof SCENARIOS)[number]

/** What a run does and how big: `npm run bench` is the full run, `-- --quick` a small one of every scenario. */
export interface Settings {
  readonly quick: boolean
  readonly out: string
  readonly scenarios: ReadonlyArray<Scenario>
  readonly pgUrl: string
  readonly redisUrl: string
  /** Closed-loop ceilings (store.append, raw, peer): warm-up and window. */
  readonly warmupSeconds: number
  readonly seconds: number
  /** Concurrent appenders, each on its own stream (store.append and the peer). */
  readonly appenders: number
  readonly pgMaxConnections: number
  readonly groupCommitMax: number
  readonly raw: { readonly connections: number; readonly batch: number }
  readonly bytesEvents: number
  readonly replay: { readonly events: number; readonly accounts: number }
  /** Open-loop steps: warm-up and window of each offered rate. */
  readonly stepWarmupSeconds: number
  readonly stepSeconds: number
  /** How long a step waits after its last arrival for the ones still outstanding. */
  readonly drainSeconds: number
  readonly command: {
    readonly accounts: number
    readonly symbols: number
    readonly rates: ReadonlyArray<number>
    readonly refine: number
  }
  readonly http: {
    readonly accounts: number
    readonly sockets: number
    readonly rates: ReadonlyArray<number>
    readonly refine: number
    readonly healthSeconds: number
    /** GET portfolio per second while trades are written at `queryWriteRate`. */
    readonly queryRate: number
    readonly queryWriteRate: number
    readonly querySeconds: number
  }
}

const flag = (args: ReadonlyArray<string>, name: string) => {
  const i = args.indexOf(`--${name}`)
  if (i < 0) return undefined
  const value = args[i + 1]
  if (value === undefined || value.startsWith("--")) throw new Error(`--${name} needs a value`)
  return value
}

const KNOWN = new Set(["--quick", "--out", "--only"])

/** From the command line: `--quick`, `--out <file>`, `--only store,command,…`. */
export const parse = (args: ReadonlyArray<string>): Settings => {
  const unknown = args.filter((a, i) => a.startsWith("--") && !KNOWN.has(a) && !(i > 0 && KNOWN.has(args[i - 1]!)))
  if (unknown.length > 0) throw new Error(`unknown option(s): ${unknown.join(" ")} (known: --quick, --out <file>, --only ${SCENARIOS.join(",")})`)
  const quick = args.includes("--quick")
  const only = flag(args, "only")
  const scenarios = only === undefined ? [...SCENARIOS] : only.split(",").map((s) => s.trim()).filter((s) => s.length > 0)
  const wrong = scenarios.filter((s) => !(SCENARIOS as ReadonlyArray<string>).includes(s))
  if (wrong.length > 0) throw new Error(`unknown scenario(s): ${wrong.join(", ")} (known: ${SCENARIOS.join(", ")})`)
  const results = (file: string) => fileURLToPath(new URL(`../results/${file}`, import.meta.url))
  const common = {
    quick,
    out: flag(args, "out") ?? results(quick ? "quick.json" : "latest.json"),
    scenarios: scenarios as Array<Scenario>,
    pgUrl: process.env.BENCH_PG_URL ?? process.env.LEDGERLINE_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test",
    redisUrl: process.env.BENCH_REDIS_URL ?? process.env.LEDGERLINE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379",
    appenders: 256,
    pgMaxConnections: 10,
    groupCommitMax: Number(process.env.LEDGERLINE_GROUP_COMMIT_MAX ?? 512)
  }
  if (quick) {
    return {
      ...common,
      appenders: 64,
      warmupSeconds: 0.5,
      seconds: 1.5,
      raw: { connections: 4, batch: common.groupCommitMax },
      bytesEvents: 5_000,
      replay: { events: 20_000, accounts: 100 },
      stepWarmupSeconds: 0.5,
      stepSeconds: 1.5,
      drainSeconds: 2,
      command: { accounts: 200, symbols: 2, rates: [200, 1_000], refine: 0 },
      http: {
        accounts: 50, sockets: 32, rates: [100, 400], refine: 0, healthSeconds: 1.5,
        queryRate: 50, queryWriteRate: 25, querySeconds: 2
      }
    }
  }
  return {
    ...common,
    warmupSeconds: 2,
    seconds: 10,
    raw: { connections: 4, batch: common.groupCommitMax },
    bytesEvents: 100_000,
    replay: { events: 1_000_000, accounts: 1_000 },
    stepWarmupSeconds: 2,
    stepSeconds: 8,
    drainSeconds: 10,
    command: { accounts: 2_000, symbols: 4, rates: [100, 250, 500, 1_000, 2_000, 3_000, 5_000, 10_000, 20_000, 50_000, 100_000], refine: 2 },
    http: {
      accounts: 1_000, sockets: 64, rates: [100, 250, 500, 1_000, 2_000, 5_000, 10_000, 20_000], refine: 2, healthSeconds: 8,
      queryRate: 200, queryWriteRate: 100, querySeconds: 10
    }
  }
}
