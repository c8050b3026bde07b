import { Config, Effect, Layer } from "effect"
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, sign, verify } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"
import { Signer } from "../../application/ports/Checkpoints.js"

/** First 16 hex characters of the SHA-256 of the public key (SPKI DER). */
export const keyIdOf = (publicKey: KeyObject) =>
  createHash("sha256").update(publicKey.export({ type: "spki", format: "der" })).digest("hex").slice(0, 16)

/** An Ed25519 signer for a private key; it trusts its own public key and any others given. */
export const make = (privateKey: KeyObject, trusted: ReadonlyArray<KeyObject> = []) => {
  const publicKey = createPublicKey(privateKey)
  const keys = new Map([publicKey, ...trusted].map((k) => [keyIdOf(k), k]))
  return Signer.of({
    keyId: keyIdOf(publicKey),
    sign: (message) => sign(null, message, privateKey).toString("base64"),
    verify: (keyId, message, signature) => {
      const key = keys.get(keyId)
      return key !== undefined && verify(null, message, key, Buffer.from(signature, "base64"))
    }
  })
}

/** A fresh key pair, for tests and first starts. */
export const generate = () => generateKeyPairSync("ed25519").privateKey

/** Loads the PEM private key at `file`, creating it (mode 0600) on first start. */
export const loadOrCreate = (file: string) =>
  Effect.sync(() => {
    if (!existsSync(file)) {
      mkdirSync(dirname(file), { recursive: true })
      writeFileSync(file, generate().export({ type: "pkcs8", format: "pem" }), { mode: 0o600 })
    }
    return createPrivateKey(readFileSync(file))
  })

/** The signer for the key in `file` (created on first start), trusting LEDGERLINE_TRUSTED_KEY_FILES too. */
export const layerFile = (file: string) => Layer.effect(Signer, Effect.gen(function*() {
  const trustedFiles = yield* Config.array(Config.string(), "LEDGERLINE_TRUSTED_KEY_FILES").pipe(Config.withDefault([]))
  const trusted = trustedFiles.map((f) => createPublicKey(readFileSync(f)))
  return make(yield* loadOrCreate(file), trusted)
}))

export const layerTest = Layer.sync(Signer, () => make(generate()))
