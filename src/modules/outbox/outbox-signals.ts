/**
 * How the recording side tells whoever delivers that a webhook's outbox has new events, without
 * importing the job layer (dependencies point from jobs to modules, never back).
 */
export interface OutboxSignals {
  /** Events were committed to a webhook's outbox; take them into deliveries soon. */
  eventsQueued(webhookId: string): void;
}
