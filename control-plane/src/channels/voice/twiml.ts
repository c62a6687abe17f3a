import twilio from "twilio";

/**
 * Every TwiML document the voice channel answers with, built by the twilio package's VoiceResponse
 * so escaping and element names are the library's, not ours.
 */
const { VoiceResponse } = twilio.twiml;

export const GATHER_ACTION = "/voice/webhook/gather";
export const ANSWER_ACTION = "/voice/webhook/answer";

export const Phrases = {
  greeting: "Hi, it's your assistant. How can I help?",
  reprompt: "Sorry, I didn't catch that. What can I do for you?",
  goodbye: "I didn't hear anything, so I'll let you go. Talk soon, goodbye!",
  fillers: ["One moment, let me check.", "Still working on it, one moment.", "Almost there, thanks for waiting."],
  tooSlow: "Sorry, that is taking me too long. Could you say it again?",
  unknownCaller: "Sorry, I can only take calls from a number I can see. Goodbye.",
  trouble: "Sorry, something went wrong on my side. Please try again in a moment. Goodbye.",
  connecting: "Connecting you to your assistant.",
} as const;

/** What a limited caller hears (docs/voice-trust.md); keyed by the PIN outcome. */
export const TrustPhrases = {
  verified: "Thanks, you're verified. How can I help?",
  wrong: "Sorry, that PIN didn't match. You can try again.",
  locked: "Sorry, that didn't match, and I can't take more PIN attempts on this call. I can still take a message.",
  no_pin: "There's no phone PIN set yet. You can set one by writing phone pin and four to eight digits to me on WhatsApp. I can still take a message.",
} as const;

/** The greeting of a call whose number could not be verified, naming the ways to unlock it. */
export function limitedGreeting(ways: { pin: boolean; whatsapp: boolean }): string {
  const unlock = [ways.pin ? "say your phone PIN" : null, ways.whatsapp ? "answer yes to the WhatsApp message I just sent you" : null].filter(Boolean);
  return `Hi, it's your assistant. I can't verify the number you're calling from, so for now I can only take a message.${unlock.length ? ` To unlock everything, ${unlock.join(", or ")}.` : ""}`;
}

function gather(res: InstanceType<typeof VoiceResponse>, say: string): void {
  // actionOnEmptyResult: silence also calls the action, so the route decides reprompt or goodbye.
  const g = res.gather({ input: ["speech"], action: GATHER_ACTION, method: "POST", speechTimeout: "auto", actionOnEmptyResult: true });
  g.say(say);
}

/** Greets the caller and listens for the first turn. */
export function greetingTwiml(greeting: string = Phrases.greeting): string {
  const res = new VoiceResponse();
  gather(res, greeting);
  return res.toString();
}

/** The agent's reply, then the next turn (or the end of the call when the agent hangs up). */
export function replyTwiml(reply: string, hangUp: boolean): string {
  const res = new VoiceResponse();
  if (hangUp) {
    if (reply.trim()) res.say(reply);
    res.hangup();
  } else {
    gather(res, reply.trim() || "Anything else?");
  }
  return res.toString();
}

/** Twilio waits at most 15 s for an answer: say something short and come back for the reply. */
export function fillerTwiml(turn: number, wait: number): string {
  const res = new VoiceResponse();
  res.say(Phrases.fillers[Math.min(wait, Phrases.fillers.length - 1)]!);
  res.redirect({ method: "POST" }, `${ANSWER_ACTION}?turn=${turn}&wait=${wait + 1}`);
  return res.toString();
}

export function repromptTwiml(): string {
  const res = new VoiceResponse();
  gather(res, Phrases.reprompt);
  return res.toString();
}

export function tooSlowTwiml(): string {
  const res = new VoiceResponse();
  gather(res, Phrases.tooSlow);
  return res.toString();
}

export function hangupTwiml(say: string): string {
  const res = new VoiceResponse();
  res.say(say);
  res.hangup();
  return res.toString();
}

/** Real-time mode: the call's audio goes to /voice/stream; the parameters identify the caller. */
export function streamTwiml(streamUrl: string, parameters: Record<string, string>): string {
  const res = new VoiceResponse();
  const stream = res.connect().stream({ url: streamUrl });
  for (const [name, value] of Object.entries(parameters)) stream.parameter({ name, value });
  // Reached only when the bridge ends the stream itself (the realtime side failed): not a dead line.
  res.say(Phrases.trouble);
  return res.toString();
}

/** An outbound reminder call: read it, pause, read it again, hang up. */
export function announceTwiml(text: string): string {
  const res = new VoiceResponse();
  res.say(`Hi, it's your assistant with an urgent reminder. ${text}`);
  res.pause({ length: 1 });
  res.say(`Again: ${text}. Goodbye.`);
  res.hangup();
  return res.toString();
}
