import { describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { runDynamoSuite, useDynamoLocal } from "../adapters/dynamodb/dynamoTest.js"
import { tradingDay } from "./scenario.js"
import { startServer } from "./server.js"

describe.runIf(runDynamoSuite("the service on DynamoDB"))("the service over HTTP", () => {
  const local = useDynamoLocal()

  // events and snapshots in DynamoDB Local (tables created on start), read models in the SQLite file
  it.live("on DynamoDB (LEDGERLINE_STORE=dynamodb)", () =>
    Effect.gen(function*() {
      yield* tradingDay(yield* startServer({
        LEDGERLINE_STORE: "dynamodb", DYNAMODB_ENDPOINT: local.endpoint, AWS_REGION: "us-east-1",
        AWS_ACCESS_KEY_ID: "local", AWS_SECRET_ACCESS_KEY: "local", LEDGERLINE_DYNAMODB_TABLE_PREFIX: `e2e-${Date.now()}-`
      }))
    }).pipe(Effect.scoped), 180_000)
})
