import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import { verifyChain } from "../../application/ChainVerification.js"
import { LedgerlineApi } from "./Api.js"
import { Unavailable } from "./ApiErrors.js"
import { requireRole } from "./HttpSupport.js"

export const layer = HttpApiBuilder.group(LedgerlineApi, "audit", (handlers) =>
  handlers.handle("verify", () =>
    Effect.gen(function*() {
      yield* requireRole("auditor")
      const unavailable = () => new Unavailable({ code: "UNAVAILABLE", message: "the event store is unavailable; retry" })
      const report = yield* verifyChain().pipe(
        Effect.catchTags({ EventStoreUnavailable: unavailable, CheckpointStoreUnavailable: unavailable })
      )
      return report._tag === "Intact"
        ? { ok: true as const, checked: report.events }
        : {
          ok: false as const,
          checked: Math.max(0, report.position - 1),
          firstBroken: { position: report.position, eventId: Option.getOrNull(report.eventId), problem: report.problem, detail: report.detail }
        }
    })))
