/**
 * Gives an idle agent's memory back: V8's most thorough collection (what it does under memory
 * pressure: repeated compacting full GCs, the young generation shrunk, pooled pages and the
 * bytecode of functions that only ran at start released), measured in docs/sandbox-speed.md.
 * Synchronous, ~100 ms of CPU for this agent, so the gateway calls it only once it has been idle a
 * while (GatewayOptions.whenIdle).
 *
 * Needs `--expose-gc`, which the image's NODE_OPTIONS set; without it (`npm start` on the host, the
 * tests) there is no `gc` and this does nothing.
 */
export function compactHeap(gc: NodeJS.GCFunction | undefined = globalThis.gc): boolean {
  if (!gc) return false;
  gc({ type: "major", execution: "sync", flavor: "last-resort" });
  return true;
}
