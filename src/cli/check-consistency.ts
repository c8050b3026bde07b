import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { parseArgs } from "node:util"
import { checkConsistency } from "../application/ConsistencyCheck.js"
import { catchUp, projectionNames } from "../application/Projections.js"
import { StoresLive } from "./Stores.js"

/**
 * `npm run check-consistency`: refolds every account from the event store and compares it with the
 * read models; prints each difference and exits 1 if there is any. `--catch-up` first projects
 * what the read models have not seen (when no service is running to do it).
 */
const program = Effect.gen(function*() {
  const { values } = parseArgs({ options: { "catch-up": { type: "boolean" } } })
  if (values["catch-up"] === true) yield* Effect.forEach(projectionNames, catchUp, { discard: true })
  const report = yield* checkConsistency()
  for (const d of report.differences) {
    yield* Console.log(`${d.accountId}\t${d.kind}\t${d.subject}\texpected ${d.expected}\tread model ${d.actual}`)
  }
  yield* Console.log(`${report.accounts} account(s) checked at position ${report.position}: ${report.differences.length} difference(s)`)
  if (report.differences.some((d) => d.kind === "BEHIND")) {
    yield* Console.log("the read models are behind the log: is the service running? (--catch-up projects first)")
  }
  if (report.differences.length > 0) process.exitCode = 1
})

program.pipe(Effect.provide(StoresLive), NodeRuntime.runMain)
