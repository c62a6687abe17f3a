import type Dockerode from "dockerode";
import type { Logger } from "../logger";
import { raceSignal, RuntimeError } from "./runtime";

/** Sandboxes must not reach each other: no traffic between containers on the bridge. */
export const ICC_OPTION = "com.docker.network.bridge.enable_icc";

export interface SandboxNetwork {
  /** The bridge's address on the host. */
  gateway: string;
  /** Our own address on the network, when we run in a bridged container. */
  self?: string;
}

interface NetworkOptions {
  docker: Dockerode;
  name: string;
  labels: Record<string, string>;
  /** This control plane's own container, when it runs in one (see self-container.ts). */
  selfContainer?: { name: string; detected: boolean };
  log: Logger;
  /** A fresh per-call timeout signal. */
  signal: () => AbortSignal;
}

const statusCode = (err: unknown): number | undefined => (err as { statusCode?: number })?.statusCode;

/**
 * The sandbox network, created if missing: a bridge that is internal (no route out) and has
 * inter-container traffic off, so a sandbox reaches neither the internet nor another sandbox. The
 * host still reaches container addresses and containers reach the host on the gateway address
 * (where the sandbox listener is: docs/topology.md).
 */
export async function prepareSandboxNetwork(o: NetworkOptions): Promise<SandboxNetwork> {
const net = o.docker.getNetwork(o.name);
  try {
    await o.docker.createNetwork({
      Name: o.name,
      Driver: "bridge",
      Internal: true,
      CheckDuplicate: true,
      Options: { [ICC_OPTION]: "false" },
      Labels: o.labels,
      abortSignal: o.signal(),
    } as Dockerode.NetworkCreateOptions);
    o.log.info({ network: o.name }, "created sandbox network");
  } catch (err) {
    if (statusCode(err) !== 409) throw new RuntimeError(`cannot create network ${o.name}: ${(err as Error).message}`, err);
  }
  // dockerode's network inspect takes no signal: race it against one.
  const info = (await raceSignal(net.inspect(), o.signal())) as { IPAM?: { Config?: { Gateway?: string }[] }; Options?: Record<string, string> };
  const gateway = info?.IPAM?.Config?.[0]?.Gateway;
  if (!gateway) throw new RuntimeError(`network ${o.name} has no gateway address`);
  const isolated = info.Options?.[ICC_OPTION] === "false";
  if (!isolated) {
    o.log.warn({ network: o.name }, `the sandbox network lets sandboxes reach each other: recreate it with ${ICC_OPTION}=false`);
  }
  const self = o.selfContainer ? await joinNetwork(o, o.selfContainer, isolated) : undefined;
  return { gateway, ...(self ? { self } : {}) };
}

/**
 * Where sandboxes reach us when we run in a container. In the host's network namespace
 * (network_mode: host, as docker-compose.yml runs it) we are the host: the bridge's gateway. In a
 * bridged container we join the sandbox network and are reached at our address there; that only
 * works when the network lets containers talk, which an isolated one (ICC off) does not, in
 * either direction: refuse to start, saying what to change, rather than time out on every message.
 */
async function joinNetwork(o: NetworkOptions, { name: container, detected }: { name: string; detected: boolean }, isolated: boolean): Promise<string | undefined> {
  const inspect = async () =>
    (await o.docker.getContainer(container).inspect({ abortSignal: o.signal() } as never)) as unknown as Dockerode.ContainerInspectInfo;
  let info: Dockerode.ContainerInspectInfo;
  try {
    info = await inspect();
  } catch (err) {
    // A guessed name that is no container of this daemon: we run beside it, as the host does.
    if (detected && statusCode(err) === 404) return undefined;
    throw new RuntimeError(`cannot inspect this control plane's container ${container}: ${(err as Error).message}`, err);
  }
  if (info.HostConfig?.NetworkMode === "host") return undefined;
  if (isolated) {
    throw new RuntimeError(
      `this control plane runs in container ${container} on a bridge network, and ${o.name} has inter-container traffic off: ` +
        "it could not reach its sandboxes nor they it. Run it in the host's network namespace (network_mode: host, as docker-compose.yml does).",
    );
  }
  const address = (i: Dockerode.ContainerInspectInfo) => i.NetworkSettings.Networks?.[o.name]?.IPAddress || undefined;
  if (address(info)) return address(info);
  try {
    await o.docker.getNetwork(o.name).connect({ Container: container, abortSignal: o.signal() } as never);
    o.log.info({ network: o.name, container }, "joined the sandbox network");
    const joined = address(await inspect());
    if (joined) return joined;
  } catch (err) {
    throw new RuntimeError(`cannot put this control plane's container ${container} on network ${o.name}: ${(err as Error).message}`, err);
  }
  throw new RuntimeError(`container ${container} has no address on network ${o.name}`);
}
