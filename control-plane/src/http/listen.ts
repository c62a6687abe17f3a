import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { RequestListener } from "node:http";

export interface Listening {
  server: Server;
  /** e.g. http://127.0.0.1:3001 (a wildcard address is shown as loopback). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Starts an HTTP server on host:port (0 picks a free port) and says where it listens. Connections
 * that arrive on `refuseLocalAddress` are closed unanswered: the main listener on 0.0.0.0 would
 * otherwise also answer on the sandbox network's gateway address, the one address sandboxes reach.
 */
export async function listen(app: RequestListener, port: number, host: string, opts: { refuseLocalAddress?: string } = {}): Promise<Listening> {
  const server = createServer(app);
  const refused = opts.refuseLocalAddress;
  if (refused) {
    server.on("connection", (socket) => {
      if ((socket.localAddress ?? "").replace(/^::ffff:/, "") === refused) socket.destroy();
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.address === "0.0.0.0" || addr.address === "::" ? "127.0.0.1" : addr.address.includes(":") ? `[${addr.address}]` : addr.address;
  return {
    server,
    url: `http://${shown}:${addr.port}`,
    port: addr.port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
