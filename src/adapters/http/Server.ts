import { HttpApiBuilder, HttpApiScalar, HttpServerResponse } from "@effect/platform"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { Cause, Effect, Layer } from "effect"
import * as AccountsHandlers from "./AccountsHandlers.js"
import { LedgerlineApi } from "./Api.js"
import * as AuditHandlers from "./AuditHandlers.js"
import * as Auth from "./Auth.js"
import * as LiveHandlers from "./LiveHandlers.js"
import * as MarketsHandlers from "./MarketsHandlers.js"
import * as SystemHandlers from "./SystemHandlers.js"

const STATUS: Record<string, number> = {
  BadRequest: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, Conflict: 409, Rejected: 422, Unavailable: 503
}

const respond = (status: number, body: { readonly code: string; readonly message: string; readonly details?: unknown }) =>
  HttpServerResponse.unsafeJson(body, { status, headers: status === 503 ? { "retry-after": "1" } : {} })

/**
 * One error shape for every failure, `{ code, message, details? }`: a request that does not decode
 * becomes 400 VALIDATION naming each field; a 503 says when to retry. Defects stay 500.
 */
export const ErrorShapeLive = HttpApiBuilder.middleware((app) =>
  Effect.catchAllCause(app, (cause) => {
    const error = Cause.squash(cause)
    if (error instanceof HttpApiDecodeError) {
      return Effect.succeed(respond(400, {
        code: "VALIDATION",
        message: "the request is not valid",
        details: error.issues.map((i) => ({ field: i.path.join("."), message: i.message }))
      }))
    }
    if (typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string" && error._tag in STATUS &&
      "code" in error && typeof error.code === "string" && "message" in error && typeof error.message === "string") {
      const details = "details" in error && error.details !== undefined ? { details: error.details } : {}
      return Effect.succeed(respond(STATUS[error._tag]!, { code: error.code, message: error.message, ...details }))
    }
    return Effect.failCause(cause)
  }))

/**
 * The API with its handlers and JWT authentication; handlers need the stores in context (and
 * LiveUpdates for `/v1/stream`, which answers 404 without it).
 */
export const ApiLive = (storeName: string, live: LiveHandlers.LiveStreamOptions = {}) =>
  HttpApiBuilder.api(LedgerlineApi).pipe(
    Layer.provide([
      SystemHandlers.layer(storeName), AccountsHandlers.layer, MarketsHandlers.layer, LiveHandlers.layer(live), AuditHandlers.layer
    ]),
    Layer.provide(Auth.layer)
  )

/** The HTTP app: API, /openapi.json and interactive docs at /docs (served inline, no CDN). */
export const HttpAppLive = (storeName: string, live: LiveHandlers.LiveStreamOptions = {}) =>
  HttpApiBuilder.serve().pipe(
    Layer.provide(ErrorShapeLive),
    Layer.provide(HttpApiScalar.layer({ path: "/docs" })),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(ApiLive(storeName, live))
  )
