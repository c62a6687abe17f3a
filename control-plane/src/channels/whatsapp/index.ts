// The WhatsApp channel: Meta's Cloud API in (signed webhooks) and out (Graph API).
export { createWhatsAppRouter, type WhatsAppRouterOptions } from "./webhook-router";
export { GraphApiClient, type GraphClientOptions, type Recipient } from "./graph-client";
export * from "./graph-errors";
export { WhatsAppAdapter, HELD_CODE, TOO_LONG_CODE, UNDELIVERABLE_CODE } from "./adapter";
export { InboundRecorder, UNSUPPORTED_REPLY, type InboxWriter, type OutboxWriter, type WhatsAppMessagePayload } from "./inbound";
export { StatusProcessor } from "./status-processor";
export { releaseHeldMessages } from "./held-messages";
export { splitMessage, WHATSAPP_TEXT_LIMIT } from "./split-message";
export { verifyMetaSignature, signMetaPayload, metaEscape } from "./signature";
export { WhatsAppTurnPreparer, type PreparedTurn, type PreparedChat } from "./turn-preparer";
export { OpenAICompatibleTranscriber, TranscriptionError, type Transcriber } from "./transcriber";
export { startTyping, TYPING_REFRESH_MS } from "./typing-indicator";
export { applyStatus, STATUS_RANK } from "./statuses";
export { withWhatsApp, splitOutbound } from "./message-handler";
export { createWhatsAppChannel, transcriberViaGateway, type WhatsAppChannel } from "./channel";
