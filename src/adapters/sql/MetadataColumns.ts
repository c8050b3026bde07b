import type { EventMetadata } from "../../application/ports/EventStore.js"
import { isCanonicalUuid, uuidFromBytes } from "../../application/Uuid.js"

/**
 * An event's metadata as its row keeps it (docs/adr/0017): a user or command id that is a UUID in
 * canonical text goes into the 16-byte `*_uuid` column, any other into the text one; a correlation
 * or causation id equal to the command id is NULL. `fromColumns` gives back exactly the metadata
 * `toColumns` was given, which is what the hash chain covers.
 */
export interface MetadataColumns<U> {
  readonly user_id: string | null
  readonly user_uuid: U | null
  readonly correlation_id: string | null
  readonly causation_id: string | null
  readonly command_id: string | null
  readonly command_uuid: U | null
}

/** A uuid column's value as the engine binds it: PostgreSQL takes the text, SQLite the 16 bytes. */
export type BindUuid<U> = (id: string) => U

export const toColumns = <U>(metadata: EventMetadata, bindUuid: BindUuid<U>): MetadataColumns<U> => {
  const user = isCanonicalUuid(metadata.userId)
  const command = isCanonicalUuid(metadata.commandId)
  return {
    user_id: user ? null : metadata.userId,
    user_uuid: user ? bindUuid(metadata.userId) : null,
    correlation_id: metadata.correlationId === metadata.commandId ? null : metadata.correlationId,
    causation_id: metadata.causationId === metadata.commandId ? null : metadata.causationId,
    command_id: command ? null : metadata.commandId,
    command_uuid: command ? bindUuid(metadata.commandId) : null
  }
}

/** A uuid column as read: PostgreSQL gives its canonical text, SQLite its bytes. */
type UuidRead = string | Uint8Array | null

const idOf = (text: string | null, uuid: UuidRead, column: string): string => {
  if (text !== null) return text
  if (uuid === null) throw new Error(`events row without ${column}`) // the tables' CHECKs rule it out
  return typeof uuid === "string" ? uuid : uuidFromBytes(uuid)
}

export const fromColumns = (row: MetadataColumns<string | Uint8Array>): EventMetadata => {
  const commandId = idOf(row.command_id, row.command_uuid, "command id")
  return {
    userId: idOf(row.user_id, row.user_uuid, "user id"),
    correlationId: row.correlation_id ?? commandId,
    causationId: row.causation_id ?? commandId,
    commandId
  }
}
