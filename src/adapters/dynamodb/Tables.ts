import type { CreateTableCommandInput } from "@aws-sdk/client-dynamodb"
import { Duration, Effect, Schedule } from "effect"
import { DynamoDb, DynamoError } from "./DynamoClient.js"

/** The three tables of one store, named `<prefix>events`, `<prefix>log` and `<prefix>snapshots`. */
export interface TableNames {
  /** One item per event: AggregateId (partition), Version (sort), with the GSI ByTypeTime. */
  readonly events: string
  /** The outbox, the sequenced log and its indexes, the chain head: PK and SK, both strings. */
  readonly log: string
  /** One item per aggregate: its latest snapshot. */
  readonly snapshots: string
}

export const tableNames = (prefix: string): TableNames =>
  ({ events: `${prefix}events`, log: `${prefix}log`, snapshots: `${prefix}snapshots` })

/** The GSI on (EventType, Timestamp): reads by type and time for tools outside the port (docs/adr/0014). */
export const BY_TYPE_TIME = "ByTypeTime"
/** The attribute DynamoDB's TTL deletes staged chunks by, once an append that never committed left them. */
export const EXPIRES_AT = "ExpiresAt"

const definitions = (names: TableNames): ReadonlyArray<CreateTableCommandInput> => [
  {
    TableName: names.events,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: "AggregateId", AttributeType: "S" },
      { AttributeName: "Version", AttributeType: "N" },
      { AttributeName: "EventType", AttributeType: "S" },
      { AttributeName: "Timestamp", AttributeType: "N" }
    ],
    KeySchema: [{ AttributeName: "AggregateId", KeyType: "HASH" }, { AttributeName: "Version", KeyType: "RANGE" }],
    GlobalSecondaryIndexes: [{
      IndexName: BY_TYPE_TIME,
      KeySchema: [{ AttributeName: "EventType", KeyType: "HASH" }, { AttributeName: "Timestamp", KeyType: "RANGE" }],
      Projection: { ProjectionType: "KEYS_ONLY" }
    }]
  },
  {
    TableName: names.log,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [{ AttributeName: "PK", AttributeType: "S" }, { AttributeName: "SK", AttributeType: "S" }],
    KeySchema: [{ AttributeName: "PK", KeyType: "HASH" }, { AttributeName: "SK", KeyType: "RANGE" }]
  },
  {
    TableName: names.snapshots,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [{ AttributeName: "AggregateId", AttributeType: "S" }],
    KeySchema: [{ AttributeName: "AggregateId", KeyType: "HASH" }]
  }
]

const isActive = (names: TableNames, name: string) =>
  Effect.gen(function*() {
    const dynamo = yield* DynamoDb
    const { Table } = yield* dynamo.describeTable(name)
    const indexes = name === names.events ? Table?.GlobalSecondaryIndexes ?? [] : []
    return Table?.TableStatus === "ACTIVE" && indexes.every((i) => i.IndexStatus === "ACTIVE")
  })

/**
 * Creates the store's tables (on-demand capacity) that do not exist yet, waits until they and the
 * GSI are ACTIVE (at most `timeout`), and turns on TTL for staged chunks. Idempotent: existing
 * tables are left as they are.
 */
export const ensureTables = (prefix: string, timeout: Duration.DurationInput = Duration.minutes(5)) =>
  Effect.gen(function*() {
    const dynamo = yield* DynamoDb
    const names = tableNames(prefix)
    for (const definition of definitions(names)) {
      yield* dynamo.createTable(definition).pipe(
        Effect.catchIf((e) => e.code === "ResourceInUseException", () => Effect.void) // exists, or is being created
      )
    }
    for (const name of [names.events, names.log, names.snapshots]) {
      yield* isActive(names, name).pipe(
        Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (active) => active }),
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new DynamoError({ operation: "ensureTables", code: "Timeout", message: `table ${name} is not ACTIVE in time` })
        })
      )
    }
    yield* dynamo.updateTimeToLive({ TableName: names.log, TimeToLiveSpecification: { Enabled: true, AttributeName: EXPIRES_AT } }).pipe(
      Effect.catchIf((e) => e.code === "ValidationException" && /already enabled/i.test(e.message), () => Effect.void)
    )
  }).pipe(Effect.withSpan("DynamoDb.ensureTables", { attributes: { prefix } }))

/** Deletes the store's tables (tests); missing ones are fine. */
export const deleteTables = (prefix: string) =>
  Effect.gen(function*() {
    const dynamo = yield* DynamoDb
    const names = tableNames(prefix)
    for (const name of [names.events, names.log, names.snapshots]) {
      yield* dynamo.deleteTable(name).pipe(Effect.catchIf((e) => e.code === "ResourceNotFoundException", () => Effect.void))
    }
  })
