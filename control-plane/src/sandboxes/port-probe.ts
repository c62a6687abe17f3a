import { connect } from "node:net";

/**
 * Waits until something accepts TCP connections at a ws:// endpoint, polling every intervalMs.
 * A fresh agent needs a moment to listen; polling the port cheaply and only then handshaking
 * makes a cold start as fast as the agent allows, instead of as slow as a reconnect backoff.
 */
export async function waitForPort(endpoint: string, opts: { timeoutMs: number; intervalMs?: number }): Promise<boolean> {
  const url = new URL(endpoint);
  const port = Number(url.port || 80);
  const deadline = Date.now() + opts.timeoutMs;
  // A refused connect costs a SYN and a RST on a local bridge: polling often is cheap, and the
  // handshake starts at most this long after the agent listens (the bench's floor polls at 10 too).
  const interval = opts.intervalMs ?? 10;
  for (let i = 0; i < 100_000 && Date.now() < deadline; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: url.hostname, port });
      const done = (ok: boolean) => {
        clearTimeout(timer);
        sock.destroy();
        resolve(ok);
      };
      const timer = setTimeout(() => done(false), Math.max(50, Math.min(1000, deadline - Date.now())));
      sock.once("connect", () => done(true));
      sock.once("error", () => done(false));
    });
    if (open) return true;
    await new Promise((r) => setTimeout(r, interval));
  }
  return false;
}
