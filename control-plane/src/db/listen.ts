import type { Client } from "pg";
import type { Logger } from "../logger";

/**
 * LISTEN on a connection of its own that comes back by itself: when PostgreSQL restarts (or the
 * connection drops) it is re-established with capped backoff and logged, and the listener is
 * called once with an empty payload, since notifications sent meanwhile were lost and the
 * consumer should look for work. Without this a queue would silently fall back to its poll timer.
 */
export async function listenWithReconnect(
  makeClient: () => Client,
  channel: string,
  onNotify: (payload: string) => void,
  logger: Logger | undefined,
  registry: Set<() => Promise<void>>,
): Promise<() => Promise<void>> {
  let closed = false;
  let current: Client | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  const log = logger?.child({ component: "listen", channel });

  const connect = async (): Promise<void> => {
    const client = makeClient();
    let lost = false;
    let ready = false;
    const onLost = (err?: Error) => {
      // Before LISTEN succeeded a failure is the connect's to report, not a lost connection.
      if (!ready || lost || closed) return;
      lost = true;
      if (current === client) current = undefined;
      log?.warn({ err: err?.message }, "LISTEN connection lost; reconnecting");
      schedule(1);
    };
    client.on("error", onLost);
    client.on("notification", (n) => {
      if (n.channel === channel) onNotify(n.payload ?? "");
    });
    try {
      await client.connect();
      await client.query(`LISTEN "${channel.replace(/"/g, "")}"`);
    } catch (err) {
      await client.end().catch(() => undefined);
      throw err;
    }
    if (closed) {
      await client.end().catch(() => undefined);
      return;
    }
    client.on("end", () => onLost());
    ready = true;
    current = client;
  };

  const schedule = (attempt: number) => {
    if (closed) return;
    const delay = Math.min(10_000, 200 * 2 ** (attempt - 1));
    retryTimer = setTimeout(() => {
      connect().then(
        () => {
          if (closed) return;
          log?.info({ attempt }, "LISTEN connection re-established");
          onNotify("");
        },
        (err) => {
          if (attempt === 1 || attempt % 10 === 0) log?.warn({ err: (err as Error).message, attempt }, "LISTEN reconnect failed; trying again");
          schedule(attempt + 1);
        },
      );
    }, delay);
    retryTimer.unref();
  };

  await connect();
  const unlisten = async () => {
    closed = true;
    registry.delete(unlisten);
    if (retryTimer) clearTimeout(retryTimer);
    await current?.end().catch(() => undefined);
  };
  registry.add(unlisten);
  return unlisten;
}
