import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { LedgerlineApi } from "./Api.js"

export const layer = (storeName: string) =>
  HttpApiBuilder.group(LedgerlineApi, "system", (handlers) =>
    handlers.handle("health", () => Effect.succeed({ status: "ok" as const, store: storeName })))
