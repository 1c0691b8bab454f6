// Seeds a large, already-old delivery history straight into audithook's SQLite file, before the
// server starts (the file exists and is migrated: `org create` ran first). One organization whose
// webhook was removed long ago owns `deliveries` finished deliveries, each with one attempt, one
// event link and its audit event, all completed at `newestCompletedAt`; the
// runner then sets AUDITHOOK_DELIVERY_RETENTION so that all become prunable at one chosen moment.
// Prints one JSON line: { deliveries, rows, seconds }.
// Params (argv[2], JSON): { databasePath, deliveries, newestCompletedAt }.
import Database from 'better-sqlite3';

const { databasePath, deliveries, newestCompletedAt } = JSON.parse(process.argv[2]);
const startedAt = performance.now();
const db = new Database(databasePath, { timeout: 10_000 });
db.pragma('journal_mode = WAL');
db.pragma('foreign_keys = ON');
const pad = (i) => String(i).padStart(26, '0');
const orgId = `org_${'h'.repeat(26)}`;
const webhookId = `wh_${'h'.repeat(26)}`;
const longAgo = newestCompletedAt - deliveries - 60_000;
const insertEvent = db.prepare(
  `insert into audit_events (id, organization_id, time, action, actor_id, actor, context, container, location, message, idempotency_key, received_at) values (?, ?, ?, 'bench_event', 'user-1', '{"id":"user-1"}', '[]', '[]', null, 'seeded history', null, ?)`,
);
const insertDelivery = db.prepare(
  `insert into deliveries (id, organization_id, webhook_id, kind, status, event_count, attempt_count, max_attempts, created_at, completed_at, sample_events) values (?, ?, ?, 'EVENTS', 'SUCCEEDED', 1, 1, 4, ?, ?, null)`,
);
const insertLink = db.prepare(`insert into delivery_events (delivery_id, event_id, position) values (?, ?, 0)`);
const insertAttempt = db.prepare(
  `insert into delivery_attempts (id, delivery_id, webhook_id, organization_id, attempt_number, outcome, status_code, error, response_body, duration_ms, started_at, will_retry, next_attempt_at) values (?, ?, ?, ?, 1, 'SUCCEEDED', 200, null, 'ok', 3, ?, 0, null)`,
);
db.transaction(() => {
  db.prepare(`insert into organizations (id, name, created_at) values (?, 'Seeded history', ?)`).run(orgId, longAgo);
  db.prepare(
    `insert into webhooks (id, organization_id, active_organization, url, signing_secret_sealed, status, created_at, updated_at, removed_at) values (?, ?, null, 'http://127.0.0.1:9/removed', 'removed', 'ACTIVE', ?, ?, ?)`,
  ).run(webhookId, orgId, longAgo, longAgo, longAgo);
  for (let i = 0; i < deliveries; i++) {
    // All at the same moment, so all become prunable at once.
    const completedAt = newestCompletedAt;
    const eventId = `evt_${pad(i)}`;
    const deliveryId = `dlv_${pad(i)}`;
    insertEvent.run(eventId, orgId, completedAt - 20, completedAt - 20);
    insertDelivery.run(deliveryId, orgId, webhookId, completedAt - 10, completedAt);
    insertLink.run(deliveryId, eventId);
    insertAttempt.run(`att_${pad(i)}`, deliveryId, webhookId, orgId, completedAt - 5);
  }
})();
db.pragma('wal_checkpoint(TRUNCATE)');
db.close();
process.stdout.write(JSON.stringify({ deliveries, rows: deliveries * 4, seconds: (performance.now() - startedAt) / 1000 }) + '\n');
