import { Config, Option } from "effect"

/** Where and as whom an AWS SDK v3 client calls: shared by the DynamoDB and Kinesis adapters. */
export interface AwsSettings {
  /** An emulator or a VPC endpoint (`http://127.0.0.1:8000`); none: the region's public endpoint. */
  readonly endpoint?: string
  readonly region: string
  /** Explicit credentials; by default the SDK's chain, or static local ones when an endpoint is given. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string }
  /** The SDK's own attempts per call (its default is 3). */
  readonly maxAttempts?: number
}

/**
 * The client configuration every adapter shares (its request handler aside): against an endpoint
 * and without credentials, the static `local` credentials given, which emulators accept.
 */
export const clientConfig = (settings: AwsSettings, local: { readonly accessKeyId: string; readonly secretAccessKey: string }) => ({
  region: settings.region,
  ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
  ...(settings.maxAttempts === undefined ? {} : { maxAttempts: settings.maxAttempts }),
  ...(settings.credentials !== undefined
    ? { credentials: { ...settings.credentials } }
    : settings.endpoint !== undefined
    ? { credentials: { ...local } }
    : {})
})

/** `<endpointVariable>` (optional: an emulator) and `AWS_REGION` (default us-east-1). */
export const settingsConfig = (endpointVariable: string): Config.Config<AwsSettings> =>
  Config.all({
    endpoint: Config.option(Config.string(endpointVariable)),
    region: Config.string("AWS_REGION").pipe(Config.withDefault("us-east-1"))
  }).pipe(Config.map(({ endpoint, region }) => Option.match(endpoint, { onNone: () => ({ region }), onSome: (endpoint) => ({ endpoint, region }) })))

/**
 * What a failed SDK call says about itself: the service's error name (or the socket's code, e.g.
 * ECONNREFUSED), the HTTP status when there was a response, and the message prefixed by `operation`.
 */
export const sdkFailure = (operation: string, cause: unknown): { readonly code: string; readonly status?: number; readonly message: string } => {
  const e = cause as { name?: unknown; code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } }
  const status = typeof e?.$metadata?.httpStatusCode === "number" ? e.$metadata.httpStatusCode : undefined
  const code = typeof e?.code === "string" && (e.name === "Error" || e.name === undefined) ? e.code : typeof e?.name === "string" ? e.name : "Unknown"
  const message = `${operation}: ${typeof e?.message === "string" ? e.message : String(cause)}`
  return status === undefined ? { code, message } : { code, status, message }
}
