/**
 * @kubernetes/client-node 1.x is ESM-only; this CommonJS build loads it with a real import() (which
 * tsc keeps as is under module Node16). Jest keeps this one file's import() untransformed
 * (jest.config.js) so that the tests load the same package the same way.
 */
export type KubeClient = typeof import("@kubernetes/client-node", { with: { "resolution-mode": "import" } });

let loaded: Promise<KubeClient> | null = null;

export function loadKubeClient(): Promise<KubeClient> {
  loaded ??= import("@kubernetes/client-node");
  return loaded;
}
