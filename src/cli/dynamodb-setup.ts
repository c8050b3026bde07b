import { NodeRuntime } from "@effect/platform-node"
import { Config, Console, Effect } from "effect"
import * as DynamoClient from "../adapters/dynamodb/DynamoClient.js"
import { ensureTables, tableNames } from "../adapters/dynamodb/Tables.js"

/**
 * `npm run dynamodb:setup`: creates the DynamoDB event store's tables (events with its GSI, log,
 * snapshots) under LEDGERLINE_DYNAMODB_TABLE_PREFIX, in AWS_REGION or at DYNAMODB_ENDPOINT, and
 * waits until they are ACTIVE. Tables that exist are left as they are, so it can run on every deploy.
 */
const program = Effect.gen(function*() {
  const settings = yield* DynamoClient.config
  const prefix = yield* Config.string("LEDGERLINE_DYNAMODB_TABLE_PREFIX").pipe(Config.withDefault("ledgerline-"))
  yield* ensureTables(prefix)
  const names = tableNames(prefix)
  yield* Console.log(`DynamoDB tables ready (${settings.endpoint ?? settings.region}): ${names.events}, ${names.log}, ${names.snapshots}`)
}).pipe(Effect.provide(DynamoClient.layerConfig))

program.pipe(NodeRuntime.runMain)
