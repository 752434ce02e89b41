/**
 * An OAuth `error` value as Gatehouse stores and shows it. RFC 6749 §5.2 codes are short ASCII
 * words (`invalid_grant`); anything else (a sentence, a quoted token, markup) is not passed on, since
 * the value ends up in API responses, webhooks and logs.
 *
 * @param fallback what to record when the provider's value is not a plain code.
 */
export function providerErrorCode(value: unknown, fallback: string): string {
  return typeof value === 'string' && /^[A-Za-z0-9_.:-]{1,64}$/.test(value) ? value : fallback;
}
