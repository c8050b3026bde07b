import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Schema } from "effect"
import { parseArgs } from "node:util"
import { ProjectionName, projectionNames, rebuild } from "../application/Projections.js"
import { StoresLive } from "./Stores.js"

/** `npm run rebuild -- --projection portfolio` (or `all`): empties the projection and replays the whole log into it. */
const program = Effect.gen(function*() {
  const { values } = parseArgs({ options: { projection: { type: "string", short: "p" } } })
  const wanted = values.projection ?? ""
  const one = Schema.decodeUnknownOption(ProjectionName)(wanted)
  if (wanted !== "all" && one._tag === "None") {
    yield* Console.error(`usage: npm run rebuild -- --projection <${projectionNames.join(" | ")} | all>`)
    process.exitCode = 2
    return
  }
  for (const name of one._tag === "Some" ? [one.value] : projectionNames) {
    const started = Date.now()
    const position = yield* rebuild(name)
    yield* Console.log(`rebuilt ${name} through position ${position} in ${Date.now() - started} ms`)
  }
}).pipe(Effect.provide(StoresLive))

program.pipe(NodeRuntime.runMain)
