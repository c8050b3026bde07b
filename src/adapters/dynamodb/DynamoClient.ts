import {
  type AttributeValue, BatchWriteItemCommand, type BatchWriteItemCommandInput, type BatchWriteItemCommandOutput, CreateTableCommand,
  type CreateTableCommandInput, DeleteTableCommand, DescribeTableCommand, type DescribeTableCommandOutput, DynamoDBClient,
  type DynamoDBClientConfig, GetItemCommand, type GetItemCommandInput, type GetItemCommandOutput, PutItemCommand,
  type PutItemCommandInput, QueryCommand, type QueryCommandInput, type QueryCommandOutput, TransactWriteItemsCommand,
  type TransactWriteItemsCommandInput, UpdateTimeToLiveCommand, type UpdateTimeToLiveCommandInput
} from "@aws-sdk/client-dynamodb"
import { NodeHttpHandler } from "@smithy/node-http-handler"
import { type AwsSettings, clientConfig, sdkFailure, settingsConfig } from "../aws/AwsSdk.js"
import { Config, Context, Data, Duration, Effect, Layer } from "effect"
import { Agent } from "node:http"
import { Agent as HttpsAgent } from "node:https"

const THROTTLED = new Set([
  "ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded", "LimitExceededException"
])

/** A DynamoDB call failed; `code` is the service's error name (or the socket's, e.g. ECONNREFUSED). */
export class DynamoError extends Data.TaggedError("DynamoError")<{
  readonly operation: string
  readonly code: string
  readonly message: string
  readonly status?: number
  /** TransactWriteItems only: one code per item of the request ("None" for those that were fine). */
  readonly cancellationReasons?: ReadonlyArray<string>
  readonly cause?: unknown
}> {
  /** A conditional write or a transaction whose condition did not hold. */
  get conditionFailed(): boolean {
    return this.code === "ConditionalCheckFailedException" ||
      (this.cancellationReasons ?? []).includes("ConditionalCheckFailed")
  }
  /** A transaction that met another one on an item, or was throttled: the same request may succeed later. */
  get contended(): boolean {
    return this.code === "TransactionConflictException" || THROTTLED.has(this.code) ||
      (this.cancellationReasons ?? []).some((r) => r === "TransactionConflict" || THROTTLED.has(r))
  }
}

const toDynamoError = (operation: string) => (cause: unknown): DynamoError => {
  const reasons = (cause as { CancellationReasons?: ReadonlyArray<{ Code?: string }> } | undefined)?.CancellationReasons
  return new DynamoError({
    operation, ...sdkFailure(operation, cause), cause,
    ...(Array.isArray(reasons) ? { cancellationReasons: reasons.map((r) => r?.Code ?? "None") } : {})
  })
}

/** The DynamoDB operations the adapter uses, as Effects (interruption aborts the request); a test can wrap any of them. */
export interface DynamoApi {
  /** The configured SDK client, for anything not wrapped here. */
  readonly sdk: DynamoDBClient
  readonly getItem: (input: GetItemCommandInput) => Effect.Effect<GetItemCommandOutput, DynamoError>
  readonly putItem: (input: PutItemCommandInput) => Effect.Effect<void, DynamoError>
  readonly query: (input: QueryCommandInput) => Effect.Effect<QueryCommandOutput, DynamoError>
  readonly transactWriteItems: (input: TransactWriteItemsCommandInput) => Effect.Effect<void, DynamoError>
  readonly batchWriteItem: (input: BatchWriteItemCommandInput) => Effect.Effect<BatchWriteItemCommandOutput, DynamoError>
  readonly createTable: (input: CreateTableCommandInput) => Effect.Effect<void, DynamoError>
  readonly describeTable: (tableName: string) => Effect.Effect<DescribeTableCommandOutput, DynamoError>
  readonly deleteTable: (tableName: string) => Effect.Effect<void, DynamoError>
  readonly updateTimeToLive: (input: UpdateTimeToLiveCommandInput) => Effect.Effect<void, DynamoError>
}

export class DynamoDb extends Context.Tag("ledgerline/DynamoDb")<DynamoDb, DynamoApi>() {}

export type DynamoSettings = AwsSettings

/**
 * How long one attempt of a call may take before it is abandoned (its request aborted) and sent
 * again, at most twice. Every call the adapter makes may be repeated: reads, idempotent puts,
 * transactions that carry a client token or conditions that make a second landing fail. (DynamoDB
 * Local, under load, sometimes leaves a request unanswered for good.)
 */
const READ_ATTEMPT = Duration.seconds(5)
const WRITE_ATTEMPT = Duration.seconds(15)

/** Wraps a configured SDK client. */
export const fromClient = (sdk: DynamoDBClient): DynamoApi => {
  const call = <A>(operation: string, attempt: Duration.Duration, send: (abortSignal: AbortSignal) => Promise<A>) =>
    Effect.tryPromise({ try: send, catch: toDynamoError(operation) }).pipe(
      Effect.timeoutFail({
        duration: attempt,
        onTimeout: () => new DynamoError({ operation, code: "Timeout", message: `${operation}: no answer in ${Duration.format(attempt)}` })
      }),
      Effect.retry({ times: 2, while: (e) => e.code === "Timeout" })
    )
  const read = <A>(operation: string, send: (abortSignal: AbortSignal) => Promise<A>) => call(operation, READ_ATTEMPT, send)
  const write = <A>(operation: string, send: (abortSignal: AbortSignal) => Promise<A>) => call(operation, WRITE_ATTEMPT, send)
  return {
    sdk,
    getItem: (input) => read("GetItem", (abortSignal) => sdk.send(new GetItemCommand(input), { abortSignal })),
    putItem: (input) => Effect.asVoid(write("PutItem", (abortSignal) => sdk.send(new PutItemCommand(input), { abortSignal }))),
    query: (input) => read("Query", (abortSignal) => sdk.send(new QueryCommand(input), { abortSignal })),
    transactWriteItems: (input) =>
      Effect.asVoid(write("TransactWriteItems", (abortSignal) => sdk.send(new TransactWriteItemsCommand(input), { abortSignal }))),
    batchWriteItem: (input) => write("BatchWriteItem", (abortSignal) => sdk.send(new BatchWriteItemCommand(input), { abortSignal })),
    createTable: (input) => Effect.asVoid(write("CreateTable", (abortSignal) => sdk.send(new CreateTableCommand(input), { abortSignal }))),
    describeTable: (tableName) =>
      read("DescribeTable", (abortSignal) => sdk.send(new DescribeTableCommand({ TableName: tableName }), { abortSignal })),
    deleteTable: (tableName) =>
      Effect.asVoid(write("DeleteTable", (abortSignal) => sdk.send(new DeleteTableCommand({ TableName: tableName }), { abortSignal }))),
    updateTimeToLive: (input) =>
      Effect.asVoid(write("UpdateTimeToLive", (abortSignal) => sdk.send(new UpdateTimeToLiveCommand(input), { abortSignal })))
  }
}

/**
 * A client over HTTP/1.1 with keep-alive sockets and timeouts (`NodeHttpHandler`; the emulator does
 * not speak HTTP/2), destroyed with the scope.
 */
export const make = (settings: DynamoSettings) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const config: DynamoDBClientConfig = {
        ...clientConfig(settings, { accessKeyId: "local", secretAccessKey: "local" }),
        requestHandler: new NodeHttpHandler({
          httpAgent: new Agent({ keepAlive: true, maxSockets: 64 }),
          httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
          connectionTimeout: 5_000
        })
      }
      return fromClient(new DynamoDBClient(config))
    }),
    (api) => Effect.sync(() => api.sdk.destroy())
  )

/** The items of a query, page after page, until there are no more or `enough` holds for those read so far. */
export const queryItems = (
  dynamo: DynamoApi,
  input: QueryCommandInput,
  enough: (items: ReadonlyArray<Record<string, AttributeValue>>) => boolean = () => false
) =>
  Effect.gen(function*() {
    const items: Array<Record<string, AttributeValue>> = []
    let start: Record<string, AttributeValue> | undefined = undefined
    for (;;) {
      const page: QueryCommandOutput = yield* dynamo.query(start === undefined ? input : { ...input, ExclusiveStartKey: start })
      items.push(...(page.Items ?? []))
      if (page.LastEvaluatedKey === undefined || enough(items)) return items
      start = page.LastEvaluatedKey
    }
  })

export const layer = (settings: DynamoSettings) => Layer.scoped(DynamoDb, make(settings))

/** `DYNAMODB_ENDPOINT` (optional: DynamoDB Local) and `AWS_REGION` (default us-east-1). */
export const config: Config.Config<DynamoSettings> = settingsConfig("DYNAMODB_ENDPOINT")

export const layerConfig = Layer.unwrapEffect(Effect.map(config, layer))
