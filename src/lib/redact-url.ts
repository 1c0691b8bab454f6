/**
 * A webhook URL fit for logs and audit events: receivers often put their token in the query string,
 * so every query value becomes `***` (keys stay, so `?token=abc&x=1` reads `?token=***&x=***`), a
 * query part without `=` (which may be the token itself) becomes `***`, and a password in the
 * userinfo (refused at registration, redacted anyway) becomes `***`. Scheme, host and path stay.
 */
export function redactUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return '[unparseable URL]';
  }
  if (url.password !== '') url.password = '***';
  const query = url.search.slice(1);
  if (query !== '') {
    const redacted = query
      .split('&')
      .map((part) => {
        if (part === '') return part;
        const equals = part.indexOf('=');
        return equals === -1 ? '***' : `${part.slice(0, equals)}=***`;
      })
      .join('&');
    const beforeQuery = url.href.slice(0, url.href.length - url.search.length - url.hash.length);
    return `${beforeQuery}?${redacted}${url.hash}`;
  }
  return url.href;
}
