/**
 * Twilio's From/To carry E.164 ("+14155550100"); users.phone stores the digits alone, as WhatsApp's
 * wa_id does, so one person is one user on both channels. Withheld or SIP callers have no digits.
 */
export function phoneDigits(e164: string | undefined): string | null {
  if (!e164) return null;
  const trimmed = e164.trim();
  if (!/^\+?[\d\s().-]{7,20}$/.test(trimmed)) return null;
  const digits = trimmed.replace(/\D/g, "");
  return digits.length >= 7 && digits.length <= 15 ? digits : null;
}

export function toE164(digits: string): string {
  return `+${digits.replace(/\D/g, "")}`;
}
