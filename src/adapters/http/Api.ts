import { HttpApi, HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"

export const Health = Schema.Struct({
  status: Schema.Literal("ok"),
  store: Schema.String
})

export class SystemGroup extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(Health)) {}

/** The HTTP API. Commands and queries join it with the service issue; today it reports health. */
export class LedgerlineApi extends HttpApi.make("ledgerline").add(SystemGroup) {}
