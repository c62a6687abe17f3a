import { DateTime } from "luxon";

/** A UTC ISO instant as the user reads it in their zone: "Sun 22 Nov 17:00". */
export function localLabel(iso: string, zone: string): string {
  return DateTime.fromISO(iso, { zone: "utc" }).setZone(zone).toFormat("ccc d LLL HH:mm");
}

export function localTimeLabel(iso: string, zone: string): string {
  return DateTime.fromISO(iso, { zone: "utc" }).setZone(zone).toFormat("HH:mm");
}

/** Fraction digits of a currency (JPY 0, USD 2, KWD 3), from the platform's ICU data. */
export function minorDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

export function toMinor(amount: number, currency: string): number {
  return Math.round(amount * 10 ** minorDigits(currency));
}

export function formatMoney(minor: number, currency: string): string {
  const value = minor / 10 ** minorDigits(currency);
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).format(value);
  } catch {
    return `${value.toFixed(2)} ${currency}`;
  }
}
