/** Reported in the handshake's hello and in status; bump with the package version. */
export const AGENT_VERSION = "0.1.0";
