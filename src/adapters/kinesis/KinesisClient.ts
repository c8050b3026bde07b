import {
  CreateStreamCommand, type CreateStreamCommandInput, DescribeStreamSummaryCommand, type DescribeStreamSummaryCommandOutput,
  GetRecordsCommand, type GetRecordsCommandInput, type GetRecordsCommandOutput, GetShardIteratorCommand,
  type GetShardIteratorCommandInput, type GetShardIteratorCommandOutput, KinesisClient, type KinesisClientConfig,
  ListShardsCommand, type ListShardsCommandInput, type ListShardsCommandOutput, PutRecordsCommand,
  type PutRecordsCommandInput, type PutRecordsCommandOutput
} from "@aws-sdk/client-kinesis"
import { NodeHttpHandler } from "@smithy/node-http-handler"
import { type AwsSettings, clientConfig, sdkFailure, settingsConfig } from "../aws/AwsSdk.js"
import { Config, Context, Data, Duration, Effect, Layer, Option, Schedule } from "effect"

/** Errors a later attempt may not see: throttling (400 with these codes), server errors and lost connections. */
const THROTTLED = new Set([
  "ProvisionedThroughputExceededException", "LimitExceededException", "ThrottlingException", "KMSThrottlingException"
])

/** A Kinesis call failed; `code` is the service's error name (or the socket's, e.g. ECONNREFUSED). */
export class KinesisError extends Data.TaggedError("KinesisError")<{
  readonly operation: string
  readonly code: string
  readonly message: string
  readonly status?: number
  readonly cause?: unknown
}> {
  /** True when trying again later may succeed (throttling, 5xx, network); false for a request the service refuses. */
  get retryable(): boolean {
    return THROTTLED.has(this.code) || this.status === undefined || this.status >= 500
  }
}

const toKinesisError = (operation: string) => (cause: unknown): KinesisError =>
  new KinesisError({ operation, ...sdkFailure(operation, cause), cause })

/** The Kinesis operations Ledgerline uses, as Effects (interruption aborts the request); a test can wrap any of them. */
export interface KinesisApi {
  /** The configured SDK client, for anything not wrapped here. */
  readonly sdk: KinesisClient
  readonly putRecords: (input: PutRecordsCommandInput) => Effect.Effect<PutRecordsCommandOutput, KinesisError>
  readonly listShards: (input: ListShardsCommandInput) => Effect.Effect<ListShardsCommandOutput, KinesisError>
  readonly getShardIterator: (input: GetShardIteratorCommandInput) => Effect.Effect<GetShardIteratorCommandOutput, KinesisError>
  readonly getRecords: (input: GetRecordsCommandInput) => Effect.Effect<GetRecordsCommandOutput, KinesisError>
  readonly createStream: (input: CreateStreamCommandInput) => Effect.Effect<void, KinesisError>
  readonly describeStreamSummary: (streamName: string) => Effect.Effect<DescribeStreamSummaryCommandOutput, KinesisError>
}

export class Kinesis extends Context.Tag("ledgerline/Kinesis")<Kinesis, KinesisApi>() {}

export type KinesisSettings = AwsSettings

/** Wraps a configured SDK client. */
export const fromClient = (sdk: KinesisClient): KinesisApi => {
  const call = <A>(operation: string, send: (abortSignal: AbortSignal) => Promise<A>) =>
    Effect.tryPromise({ try: send, catch: toKinesisError(operation) })
  return {
    sdk,
    putRecords: (input) => call("PutRecords", (abortSignal) => sdk.send(new PutRecordsCommand(input), { abortSignal })),
    listShards: (input) => call("ListShards", (abortSignal) => sdk.send(new ListShardsCommand(input), { abortSignal })),
    getShardIterator: (input) => call("GetShardIterator", (abortSignal) => sdk.send(new GetShardIteratorCommand(input), { abortSignal })),
    getRecords: (input) => call("GetRecords", (abortSignal) => sdk.send(new GetRecordsCommand(input), { abortSignal })),
    createStream: (input) => Effect.asVoid(call("CreateStream", (abortSignal) => sdk.send(new CreateStreamCommand(input), { abortSignal }))),
    describeStreamSummary: (streamName) =>
      call("DescribeStreamSummary", (abortSignal) => sdk.send(new DescribeStreamSummaryCommand({ StreamName: streamName }), { abortSignal }))
  }
}

/**
 * A client over HTTP/1.1 (`NodeHttpHandler`: the SDK's default HTTP/2 handler fails against the
 * emulators), destroyed with the scope.
 */
export const make = (settings: KinesisSettings) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const config: KinesisClientConfig = {
        ...clientConfig(settings, { accessKeyId: "test", secretAccessKey: "test" }),
        requestHandler: new NodeHttpHandler()
      }
      return fromClient(new KinesisClient(config))
    }),
    (api) => Effect.sync(() => api.sdk.destroy())
  )

export const layer = (settings: KinesisSettings) => Layer.scoped(Kinesis, make(settings))

/** `KINESIS_ENDPOINT` (optional: an emulator) and `AWS_REGION` (default us-east-1). */
export const config: Config.Config<KinesisSettings> = settingsConfig("KINESIS_ENDPOINT")

export const layerConfig = Layer.unwrapEffect(Effect.map(config, layer))

/** 50 ms doubling to 5 s, jittered, for as long as it takes: the back-off of throttled or failed calls. */
export const defaultBackOff: Schedule.Schedule<unknown, unknown> = Schedule.exponential("50 millis").pipe(
  Schedule.either(Schedule.spaced("5 seconds")),
  Schedule.jittered
)

/** Retries a call while its error is retryable, on `backOff`; throttling is logged at debug level, other failures as warnings. */
export const retrying = (backOff: Schedule.Schedule<unknown, unknown> = defaultBackOff) =>
  <A, R>(call: Effect.Effect<A, KinesisError, R>) =>
    call.pipe(
      Effect.tapError((e) =>
        !e.retryable ? Effect.void : THROTTLED.has(e.code) ? Effect.logDebug(`${e.message}; again after a pause`) : Effect.logWarning(`${e.message}; again after a pause`)),
      Effect.retry({ schedule: backOff, while: (e) => e.retryable })
    )

/**
 * Creates the stream with `shards` shards if it does not exist, then waits until it is ACTIVE (at
 * most `timeout`, default 60 s). An existing stream is left as it is, whatever its shard count.
 */
export const ensureStream = (name: string, shards: number, timeout: Duration.DurationInput = Duration.seconds(60)) =>
  Effect.gen(function*() {
    const kinesis = yield* Kinesis
    const status = kinesis.describeStreamSummary(name).pipe(
      Effect.map((d) => Option.fromNullable(d.StreamDescriptionSummary?.StreamStatus)),
      Effect.catchIf((e) => e.code === "ResourceNotFoundException", () => Effect.succeed(Option.none<string>()))
    )
    if (Option.isNone(yield* status)) {
      yield* kinesis.createStream({ StreamName: name, ShardCount: shards }).pipe(
        Effect.catchIf((e) => e.code === "ResourceInUseException", () => Effect.void) // someone else created it first
      )
    }
    yield* status.pipe(
      Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (s) => Option.contains(s, "ACTIVE") }),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => new KinesisError({ operation: "ensureStream", code: "Timeout", message: `stream ${name} is not ACTIVE after ${Duration.format(timeout)}` })
      })
    )
  }).pipe(Effect.withSpan("Kinesis.ensureStream", { attributes: { stream: name, shards } }))
