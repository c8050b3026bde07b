import { DateTime, Effect, Layer, Option } from "effect"
import type { Mutable } from "effect/Types"
import { catchUp } from "../../application/CatchUp.js"
import * as Wakeup from "../../application/Wakeup.js"
import { GENESIS, link } from "../../application/HashChain.js"
import {
  type AppendResult, CommandSeen, ConcurrencyConflict, DEFAULT_PAGE_SIZE, EventStore, type NewEvent, type RecordedEvent
} from "../../application/ports/EventStore.js"

/**
 * The in-memory event store: a real adapter with the same semantics as the durable ones, for
 * deterministic tests and for embedding. Each append runs as one synchronous step, so it is atomic.
 */
export const make = Effect.sync(() => {
  const streams = new Map<string, Array<RecordedEvent>>()
  const log: Array<RecordedEvent> = []
  const byType = new Map<string, Array<RecordedEvent>>()
  const byCommand = new Map<string, Array<RecordedEvent>>()
  /** Subscribers wait on it; every append that wrote notifies. */
  const wakeup = Wakeup.make()
  const commandKey = (aggregateId: string, commandId: string) => `${aggregateId}\u0000${commandId}`

  const commit = (aggregateId: string, expectedVersion: number, events: ReadonlyArray<NewEvent>) =>
    Effect.suspend(() => {
      const stream = streams.get(aggregateId) ?? []
      if (stream.length !== expectedVersion) {
        return Effect.fail(new ConcurrencyConflict({ aggregateId, expectedVersion, actualVersion: stream.length }))
      }
      // Copies, as a database would serialize them: later changes to the caller's objects are not the store's.
      let previous = log[log.length - 1]?.hash ?? GENESIS
      const recorded = events.map((event, i): RecordedEvent => {
        const { userId, correlationId, causationId, commandId } = event.metadata
        const stored: Mutable<RecordedEvent> = {
          position: log.length + i + 1, aggregateId, version: expectedVersion + i + 1, eventId: event.eventId, type: event.type,
          schemaVersion: event.schemaVersion, timestamp: event.timestamp, data: Uint8Array.from(event.data),
          metadata: { userId, correlationId, causationId, commandId }, hash: ""
        }
        stored.hash = previous = link(previous, stored)
        return stored
      })
      for (const event of recorded) {
        stream.push(event)
        log.push(event)
        const ofType = byType.get(event.type) ?? []
        ofType.push(event)
        byType.set(event.type, ofType)
        const key = commandKey(aggregateId, event.metadata.commandId)
        const ofCommand = byCommand.get(key) ?? []
        ofCommand.push(event)
        byCommand.set(key, ofCommand)
      }
      streams.set(aggregateId, stream)
      return Effect.succeed({ nextVersion: stream.length, events: recorded })
    })

  const append = (aggregateId: string, expectedVersion: number, events: ReadonlyArray<NewEvent>) =>
    commit(aggregateId, expectedVersion, events).pipe(
      Effect.tap((result) => {
        if (result.events.length > 0) wakeup.notify()
      })
    )

  return EventStore.of({
    appendEvents: (aggregateId, expectedVersion, events) => append(aggregateId, expectedVersion, events),
    appendIfNewCommand: (aggregateId, expectedVersion, events) =>
      Effect.suspend((): Effect.Effect<AppendResult, ConcurrencyConflict | CommandSeen> => {
        const commandId = events[0]?.metadata.commandId
        return commandId !== undefined && byCommand.has(commandKey(aggregateId, commandId))
          ? Effect.fail(new CommandSeen({ aggregateId, commandId }))
          : append(aggregateId, expectedVersion, events)
      }),
    getEvents: (aggregateId, options) =>
      Effect.sync(() => {
        const from = Math.max(1, options?.fromVersion ?? 1)
        return (streams.get(aggregateId) ?? []).slice(from - 1, from - 1 + (options?.limit ?? DEFAULT_PAGE_SIZE))
      }),
    getEventsByType: (type, options) =>
      Effect.sync(() => {
        const after = Number(options?.after ?? 0)
        const limit = options?.limit ?? DEFAULT_PAGE_SIZE
        const from = options?.fromTimestamp
        const to = options?.toTimestamp
        const events: Array<RecordedEvent> = []
        let more = false
        for (const event of byType.get(type) ?? []) {
          if (event.position <= after) continue
          if (from !== undefined && DateTime.lessThan(event.timestamp, from)) continue
          if (to !== undefined && DateTime.greaterThanOrEqualTo(event.timestamp, to)) continue
          if (events.length === limit) {
            more = true
            break
          }
          events.push(event)
        }
        const last = events[events.length - 1]
        return { events, cursor: more && last !== undefined ? Option.some(String(last.position)) : Option.none() }
      }),
    readAll: (options) =>
      Effect.sync(() => {
        const from = Math.max(1, options?.fromPosition ?? 1)
        return log.slice(from - 1, from - 1 + (options?.limit ?? DEFAULT_PAGE_SIZE))
      }),
    head: Effect.sync(() => Option.map(Option.fromNullable(log[log.length - 1]), (e) => ({ position: e.position, hash: e.hash }))),
    chainStart: Effect.succeed({ position: 0, hash: GENESIS }),
    findByCommand: (aggregateId, commandId) => Effect.sync(() => [...(byCommand.get(commandKey(aggregateId, commandId)) ?? [])]),
    commandsSeen: (keys) => Effect.sync(() => keys.map((k) => byCommand.has(commandKey(k.aggregateId, k.commandId)))),
    subscribe: (fromPosition) =>
      catchUp(
        (from, limit) => Effect.sync(() => log.slice(Math.max(1, from) - 1, Math.max(1, from) - 1 + limit)),
        wakeup,
        fromPosition
      )
  })
})

export const layer = Layer.effect(EventStore, make)
