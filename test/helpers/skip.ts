// "Skip, or fail under CI": for a test that cannot run on this machine because a tool or a payload
// is missing (the Debian payloads scripts/fetch-payloads.sh puts in .cache/payloads, say).
//
//   import { skip } from '../helpers/skip.js';
//
//   test('arm64: the Debian kernel boots', async () => {
//     const p = payloads();
//     if (!p) return skip('arm64 boot: no payloads in .cache/payloads; run scripts/fetch-payloads.sh');
//     …
//   });
//
// Register the test always and call skip() at the top of its body (never leave the test out):
//   - outside CI, skip() prints one marker line, `[vman:skip] <reason>` (the reason on one line),
//     and the test returns;
//     uvu counts it as passed and scripts/test.mjs moves each marker from "passed" to "skipped";
//   - under CI (CI=true or CI=1: the CI machine has every tool and payload), skip() throws, so the
//     test fails with the reason, and scripts/test.mjs counts any stray marker as a failure too.
// The reason says what was skipped and how to get it to run.

/** The start of the line skip() prints; scripts/test.mjs counts the lines that start with it. */
export const SKIP_MARKER = '[vman:skip]';

/** Whether a skip is a failure here: under CI (the same rule as scripts/test.mjs). */
export function skipsFail(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.CI === 'true' || env.CI === '1';
}

/** Skips the calling test (prints the marker), or, under CI, fails it by throwing an Error with the reason. */
export function skip(reason: string): void {
  if (skipsFail()) throw new Error(`skipped, and a skip fails under CI: ${reason}`);
  // On a line of its own: uvu prints its progress marks without a line break.
  console.log(`\n${SKIP_MARKER} ${reason.replace(/\s*\n\s*/g, ' ')}`);
}
