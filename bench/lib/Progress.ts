/** The progress lines of a run: each stamped with the seconds since the run began. */
const began = performance.now()
const tty = process.stdout.isTTY === true
let live = false
let lastLive = 0

const stamp = () => `[${((performance.now() - began) / 1000).toFixed(1).padStart(6)} s]`

const endLive = () => {
  if (live) process.stdout.write("\n")
  live = false
}

/** A line that stays. */
export const line = (text: string) => {
  endLive()
  console.log(`${stamp()} ${text}`)
}

/**
 * A line about a phase in progress: rewritten in place on a terminal, and at most one every five
 * seconds otherwise (CI logs), so a long run shows it is alive without flooding the log.
 */
export const status = (text: string) => {
  if (tty) {
    process.stdout.write(`\r\x1b[2K${stamp()} ${text}`)
    live = true
    return
  }
  const now = performance.now()
  if (now - lastLive < 5000) return
  lastLive = now
  console.log(`${stamp()} ${text}`)
}

/** Seconds since the run began. */
export const elapsed = () => (performance.now() - began) / 1000

export const f = (x: number, digits = 0) =>
  Number.isFinite(x) ? x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "-"
