import { afterAll, beforeAll } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { type DynamoLocal, startDynamoLocal } from "./dynamoLocal.js"

export { clientLayer, freshStore, freshTables, storeLayer } from "./dynamoLocal.js"

const javaFound = spawnSync("java", ["-version"], { stdio: "ignore" }).status === 0

/**
 * Whether a DynamoDB suite runs. Without java it fails in CI (the suite runs and cannot start the
 * emulator); outside CI it is skipped with a loud line naming it.
 */
export const runDynamoSuite = (suite: string) => {
  if (!javaFound && process.env.CI !== "true") {
    console.warn(`\n*** java is not installed: SKIPPING the DynamoDB suite "${suite}" (DynamoDB Local needs Java 17) ***\n`)
  }
  return javaFound || process.env.CI === "true"
}

/** One DynamoDB Local for the test file, started before its first test and stopped after its last. */
export const useDynamoLocal = () => {
  let local: DynamoLocal | undefined
  beforeAll(async () => {
    local = await startDynamoLocal()
  }, 90_000)
  afterAll(() => local?.stop())
  return {
    get endpoint(): string {
      if (local === undefined) throw new Error("DynamoDB Local is not running")
      return local.endpoint
    }
  }
}

