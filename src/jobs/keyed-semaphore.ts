/** Caps concurrent work per key (requests in flight per webhook) without blocking other keys. */
export class KeyedSemaphore {
  private readonly state = new Map<string, { active: number; waiters: (() => void)[] }>();

  constructor(private readonly limit: number) {}

  /** Resolves with a release function once a slot for `key` is free. */
  async acquire(key: string): Promise<() => void> {
    let entry = this.state.get(key);
    if (!entry) {
      entry = { active: 0, waiters: [] };
      this.state.set(key, entry);
    }
    if (entry.active >= this.limit) {
      await new Promise<void>((resolve) => entry!.waiters.push(resolve));
    } else {
      entry.active++;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = entry!.waiters.shift();
      if (next) {
        next(); // the slot passes straight to the next waiter
      } else {
        entry!.active--;
        if (entry!.active === 0) this.state.delete(key);
      }
    };
  }

  /** Requests in flight for `key` (for tests and metrics). */
  active(key: string): number {
    return this.state.get(key)?.active ?? 0;
  }
}
