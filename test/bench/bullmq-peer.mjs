// Baseline (c), shared by its two processes: the queue settings of the peer a Node team would
// build instead of audithook (bare Apollo + BullMQ on Redis + a got worker).

/** Retry delays of the peer's jobs: the same schedule audithook uses (±20% jitter), four attempts in all. */
export function peerJobOptions() {
  return { attempts: 4, backoff: { type: 'custom' }, removeOnComplete: true, removeOnFail: true };
}

/** BullMQ's custom backoff: delay before retry n (1-based) from `delaysMs`, with ±20% jitter like audithook. */
export function peerBackoff(delaysMs) {
  return (attemptsMade) => Math.round(delaysMs[Math.min(attemptsMade, delaysMs.length) - 1] * (0.8 + Math.random() * 0.4));
}

/** Redis connection options from a redis:// URL (ioredis form); BullMQ workers need maxRetriesPerRequest null. */
export function connectionOf(redisUrl) {
  const url = new URL(redisUrl);
  return { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
}
