import { HttpApiBuilder } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { LedgerlineApi } from "../../../src/adapters/http/Api.js"
import * as SystemHandlers from "../../../src/adapters/http/SystemHandlers.js"

describe("http: system", () => {
  it.effect("GET /health answers ok with the store in use", () =>
    Effect.gen(function*() {
      const { handler, dispose } = HttpApiBuilder.toWebHandler(
        Layer.mergeAll(HttpApiBuilder.api(LedgerlineApi).pipe(Layer.provide(SystemHandlers.layer("memory"))), NodeHttpServer.layerContext)
      )
      const response = yield* Effect.promise(() => handler(new Request("http://localhost/health")))
      expect(response.status).toBe(200)
      expect(yield* Effect.promise(() => response.json())).toEqual({ status: "ok", store: "memory" })
      yield* Effect.promise(() => dispose())
    }))
})
