import twilio from "twilio";
import { XMLParser } from "fast-xml-parser";

/**
 * Plays Twilio's side of a webhook: a form-encoded POST signed with the real twilio package over
 * the public URL (what Twilio would have called), sent to the local server.
 */
export interface TwilioPost {
  /** Where the control plane really listens (http://127.0.0.1:port). */
  localBase: string;
  /** PUBLIC_BASE_URL: what Twilio believes it calls, and signs. */
  publicBase: string;
  authToken: string;
}

export async function postTwilio(
  t: TwilioPost,
  pathAndQuery: string,
  params: Record<string, string>,
  opts: { signature?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: string; contentType: string }> {
  const signature = opts.signature ?? twilio.getExpectedTwilioSignature(t.authToken, `${t.publicBase}${pathAndQuery}`, params);
  const res = await fetch(`${t.localBase}${pathAndQuery}`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature, ...opts.headers },
    body: new URLSearchParams(params).toString(),
    signal: AbortSignal.timeout(20_000),
  });
  return { status: res.status, body: await res.text(), contentType: res.headers.get("content-type") ?? "" };
}

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

/** Parses a TwiML document into a plain element tree (order kept) for element-by-element checks. */
export function parseTwiml(xml: string): XmlElement {
  const parser = new XMLParser({ preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: "", parseAttributeValue: false, parseTagValue: false, trimValues: true });
  const doc = parser.parse(xml) as any[];
  const convert = (node: any): XmlElement | null => {
    const name = Object.keys(node).find((k) => k !== ":@");
    if (!name || name === "#text" || name === "?xml") return null;
    const kids = (node[name] as any[]) ?? [];
    return {
      name,
      attrs: { ...(node[":@"] ?? {}) },
      children: kids.map(convert).filter((c): c is XmlElement => c !== null),
      text: kids
        .filter((k) => "#text" in k)
        .map((k) => String(k["#text"]))
        .join(""),
    };
  };
  const root = doc.map(convert).find((e): e is XmlElement => e !== null);
  if (!root) throw new Error(`not XML: ${xml}`);
  return root;
}
