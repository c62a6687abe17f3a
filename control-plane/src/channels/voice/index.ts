export { createVoiceChannel, type VoiceChannel, type VoiceChannelOptions } from "./voice-channel";
export { VoiceHandlers, type VoiceInboxEvent } from "./voice-handlers";
export { CallCapReachedError, OutboundCallError } from "./outbound-call";
export { STREAM_PATH, type VoiceStreamHandle } from "./voice-stream";
