export { GatewayServer, type GatewayOptions } from "./gateway-server";
export { EventStream } from "./event-stream";
export { checkConnect, createChallenge, tokensEqual, type HandshakeIdentity, type HandshakeVerdict } from "./handshake";
export { RequestHandler, INTERNAL_ERROR_MESSAGE, type GatewayAgent } from "./request-handler";
