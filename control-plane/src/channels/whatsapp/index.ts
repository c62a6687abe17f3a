// The WhatsApp channel: Meta's Cloud API in (signed webhooks) and out (Graph API).
export { createWhatsAppRouter, type WhatsAppRouterOptions } from "./webhook-router";
export { GraphApiClient, type GraphClientOptions, type Recipient } from "./graph-client";
export * from "./graph-errors";
export { WhatsAppAdapter, HELD_CODE, TOO_LONG_CODE, UNDELIVERABLE_CODE } from "./adapter";
export { InboundRecorder, UNSUPPORTED_REPLY, type WhatsAppMessagePayload } from "./inbound";
export { StatusProcessor } from "./status-processor";
export { releaseHeldMessages } from "./held-messages";
export { splitMessage, splitOutbound, WHATSAPP_TEXT_LIMIT } from "./split-message";
export { verifyMetaSignature, signMetaPayload, metaEscape } from "./signature";
export { WhatsAppTurnPreparer, type PreparedTurn } from "./turn-preparer";
export { whatsAppTurn, type WhatsAppCommands } from "./turn";
export { OpenAICompatibleTranscriber, TranscriptionError, type Transcriber } from "./transcriber";
export { startTyping, TYPING_REFRESH_MS } from "./typing-indicator";
export { applyStatus, STATUS_RANK } from "./statuses";
export { createWhatsAppChannel, localWhatsAppSink, type WhatsAppChannel, type WhatsAppChannelOptions, type LocalWhatsApp } from "./channel";
