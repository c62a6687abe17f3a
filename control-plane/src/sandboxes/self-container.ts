import { existsSync } from "node:fs";
import { hostname } from "node:os";

/**
 * Which container this control plane runs in, if any: SANDBOX_SELF_CONTAINER when set; otherwise,
 * inside a Docker container (/.dockerenv), its host name, which Docker sets to the container's short
 * id. A detected name may belong to no container on this daemon (a VM image that ships /.dockerenv,
 * another daemon's container): the runtime then treats it as "on the host" instead of failing.
 */
export function selfContainer(configured: string | undefined, probe: { dockerenv?: string; hostname?: () => string } = {}): { name: string; detected: boolean } | undefined {
  if (configured) return { name: configured, detected: false };
  if (!existsSync(probe.dockerenv ?? "/.dockerenv")) return undefined;
  return { name: (probe.hostname ?? hostname)(), detected: true };
}
