import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, sign, timingSafeEqual, verify, type KeyObject } from "node:crypto";

/** The exact bytes the control plane signs when it connects to a sandbox. */
export function connectSigningPayload(sandboxId: string, nonce: string, ts: number): Buffer {
  return Buffer.from(`concierge-connect:v1\n${sandboxId}\n${nonce}\n${ts}`, "utf8");
}

/** The connect frame's proof of the sandbox token: HMAC-SHA256(token, the signed payload), base64url. */
export function connectProof(token: string, sandboxId: string, nonce: string, ts: number): string {
  return createHmac("sha256", token).update(connectSigningPayload(sandboxId, nonce, ts)).digest("base64url");
}

/** Constant-time check of a connect proof against the token this sandbox was given. */
export function verifyConnectProof(token: string, sandboxId: string, nonce: string, ts: number, proof: string): boolean {
  const expected = Buffer.from(connectProof(token, sandboxId, nonce, ts), "utf8");
  const given = Buffer.from(proof, "utf8");
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface Ed25519KeyPair {
  /** PKCS#8 PEM; stays in the control plane. */
  privateKeyPem: string;
  /** SPKI PEM; handed to every sandbox. */
  publicKeyPem: string;
}

export function generateSigningKeyPair(): Ed25519KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return {
    privateKeyPem: privateKey.export({ type: "pkcs8", format: "pem" }).toString(),
    publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(),
  };
}

export function signConnect(privateKeyPem: string | KeyObject, sandboxId: string, nonce: string, ts: number): string {
  const key = typeof privateKeyPem === "string" ? createPrivateKey(privateKeyPem) : privateKeyPem;
  return sign(null, connectSigningPayload(sandboxId, nonce, ts), key).toString("base64");
}

export function verifyConnect(
  publicKeyPem: string | KeyObject,
  sandboxId: string,
  nonce: string,
  ts: number,
  signatureB64: string,
): boolean {
  try {
    const key = typeof publicKeyPem === "string" ? createPublicKey(publicKeyPem) : publicKeyPem;
    return verify(null, connectSigningPayload(sandboxId, nonce, ts), key, Buffer.from(signatureB64, "base64"));
  } catch {
    return false;
  }
}
