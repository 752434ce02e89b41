/**
 * Whether `candidate` may be used as a setup session's `redirectUrl`: an absolute http(s) URL without
 * credentials whose scheme, host and port equal those of one allow-list entry and whose path starts
 * with that entry's path at a segment boundary. Rejects `//evil`, `javascript:`, `https://app.com.evil.com`
 * and `https://app.com@evil.com` style tricks, since they all fail one of these comparisons.
 */
export function isRedirectAllowed(candidate: string, allowList: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(candidate);
  } catch {
    return false;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return false;
  if (url.username || url.password) return false;
  return allowList.some((entry) => {
    const allowed = new URL(entry);
    if (allowed.protocol !== url.protocol || allowed.host !== url.host) return false;
    const prefix = allowed.pathname;
    if (prefix === '/' || url.pathname === prefix) return true;
    const boundary = prefix.endsWith('/') ? prefix : `${prefix}/`;
    return url.pathname.startsWith(boundary);
  });
}
