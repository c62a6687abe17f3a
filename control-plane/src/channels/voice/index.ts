export { createVoiceChannel, type VoiceChannel, type VoiceChannelOptions } from "./voice-channel";
export { agentForVoice, type VoiceAgent, type VoiceInbox } from "./ports";
export { VoiceHandlers, type VoiceInboxEvent } from "./voice-handlers";
export { CallCapReachedError, OutboundCallError } from "./outbound-call";
export { STREAM_PATH, type VoiceStreamHandle } from "./voice-stream";
