/** GraphiQL keeps its tabs under this key (its StorageAPI namespaces keys with "graphiql:"). */
const TABS_KEY = 'graphiql:tabs';

/**
 * GraphiQL's storage: localStorage, except that tabs restored from it get `headers` (the signed-in token) when theirs
 * are empty. Headers are never persisted (shouldPersistHeaders stays false), so the token is not written to localStorage;
 * without this, a returning visitor's restored tabs would come back with an empty header editor.
 */
export function createGraphiQLStorage(defaultHeaders: string | null): Storage {
  const base = window.localStorage;
  return {
    get length() {
      return base.length;
    },
    key: (index: number) => base.key(index),
    clear: () => base.clear(),
    removeItem: (key: string) => base.removeItem(key),
    setItem: (key: string, value: string) => base.setItem(key, value),
    getItem(key: string) {
      const value = base.getItem(key);
      if (key !== TABS_KEY || !value || !defaultHeaders) return value;
      try {
        const state = JSON.parse(value) as { tabs?: { headers?: string | null }[] };
        for (const tab of state.tabs ?? []) if (!tab.headers || tab.headers.trim() === '') tab.headers = defaultHeaders;
        return JSON.stringify(state);
      } catch {
        return value;
      }
    },
  } as Storage;
}
