/**
 * Caps concurrent work per key (requests in flight per webhook) without blocking other keys, and
 * without making anyone wait: `tryAcquire` takes a free slot or answers null at once. A caller that
 * got null parks its work elsewhere and is told through `onRelease` when a slot of its key frees.
 * (A waiting acquire inside an Agenda job would hold the job's Agenda slot while it waits, which is
 * how one organization's dead receiver used to slow every other organization.)
 */
export class KeyedSemaphore {
  private readonly inUse = new Map<string, number>();

  constructor(
    private readonly limit: number,
    /** Called after a slot of `key` is released, so parked work for `key` can try again. */
    private readonly onRelease: (key: string) => void = () => {},
  ) {}

  /** Takes a slot for `key` and returns its (idempotent) release function, or null at once when `limit` (at most the cap) are taken. */
  tryAcquire(key: string, limit: number = this.limit): (() => void) | null {
    const used = this.inUse.get(key) ?? 0;
    if (used >= Math.min(limit, this.limit)) return null;
    this.inUse.set(key, used + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.inUse.get(key) ?? 1) - 1;
      if (left > 0) this.inUse.set(key, left);
      else this.inUse.delete(key);
      this.onRelease(key);
    };
  }

  /** Requests in flight for `key` (for tests and metrics). */
  active(key: string): number {
    return this.inUse.get(key) ?? 0;
  }
}
