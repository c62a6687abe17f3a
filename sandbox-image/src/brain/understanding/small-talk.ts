import { DateTime } from "luxon";
import type { Intent, Recogniser } from "./intent";

const CAPABILITIES =
  "I keep your reminders, tasks, schedule, spending, meals, contacts and the things you want me to remember. Try: \"remind me to call mom tomorrow at 5pm\", \"add task buy milk\", \"lunch was 9,80 €\", \"coffee with Lea on tuesday 10 to 11am\", \"what's on wednesday?\".";

const RULES: [RegExp, string | ((m: RegExpMatchArray) => string), boolean][] = [
  [/^(?:hi|hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|evening)|morning|evening)(?: there| again)?[!.]*$/i, (m) => `${/good|morning|evening/i.test(m[0]) ? m[0].replace(/[!.]+$/, "").replace(/^\w/, (c) => c.toUpperCase()) : "Hi"}! What can I do for you?`, true],
  [/^(?:thanks?(?: you)?(?: so much| a lot| very much)?|thx|ty|cheers|much appreciated|great,? thanks?|perfect,? thanks?)[!.]*$/i, "You're welcome!", true],
  [/^(?:who are you|what are you|what'?s your name|what is your name|are you (?:a )?(?:bot|robot|human|real|ai|person))\??$/i, "I'm your personal assistant: I keep track of reminders, tasks, your schedule, spending and meals, and I remember what you tell me.", false],
  [/^(?:what can you do|what do you do|help|menu|start|how does this work|what can i (?:ask|say)|how can you help(?: me)?|commands)\??$/i, CAPABILITIES, false],
  [/^(?:how are you|how are you doing|how's it going|how are things|what's up|sup)\??$/i, "All good here, thanks! What can I do for you?", false],
  [/^(?:bye|goodbye|good night|night|see you|see ya|later|cya)[!.]*$/i, "Bye! Talk soon.", true],
  [/^(?:ok(?:ay)?|cool|great|nice|awesome|perfect|got it|sounds good|alright|sure|fine|good|yes|yep|no|nope|lol|haha)[!.]*$/i, "👍", true],
  [/^(?:sorry|my bad|oops)[!.]*$/i, "No worries!", true],
];

const CLOCK = /^(?:what(?:'s| is) the time|what time is it|what(?:'s| is) (?:the date|today'?s date)|what day is (?:it|today))(?: now| today)?\??$/i;

/** Small talk: greetings, thanks, "who are you", "what can you do", "what time is it". */
export const recogniseSmallTalk: Recogniser = (clause) => {
  if (CLOCK.test(clause)) {
    return { domain: "small_talk", run: (act) => `It's ${DateTime.fromJSDate(act.now).setZone(act.zone).toFormat("cccc d LLLL, HH:mm")} (${act.zone}).` };
  }
  for (const [re, reply, filler] of RULES) {
    const m = clause.match(re);
    if (m) return { domain: "small_talk", filler, run: () => (typeof reply === "string" ? reply : reply(m)) } satisfies Intent;
  }
  return null;
};
