/** The sessionStorage key holding the pasted API token; GraphiQL reads the same key to prefill its headers. */
export const TOKEN_STORAGE_KEY = 'audithook.token';

/** The stored token, or null; sessionStorage keeps it for this tab only and never in a URL. */
export function readToken(): string | null {
  try {
    const token = sessionStorage.getItem(TOKEN_STORAGE_KEY);
    return token && token.trim() !== '' ? token : null;
  } catch {
    return null;
  }
}

/** Keeps the token for this tab. */
export function storeToken(token: string): void {
  sessionStorage.setItem(TOKEN_STORAGE_KEY, token);
}

/** Forgets the token (sign-out, or when the server no longer accepts it). */
export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_STORAGE_KEY);
}

/** The Authorization header value for a token. */
export function bearer(token: string): string {
  return `Bearer ${token}`;
}
