import { Migration } from '@mikro-orm/migrations';

/**
 * The first schema on PostgreSQL, the twin of sqlite/Migration20261125002932_initial: the same tables,
 * columns, keys, indexes and checks, in PostgreSQL's types (timestamptz, jsonb, boolean; text unbounded, as in SQLite).
 */
export class Migration20261125002932_initial extends Migration {

  override name = 'Migration20261125002932_initial';

  override up(): void | Promise<void> {
    this.addSql(`create table "organizations" ("id" text not null, "name" text not null, "created_at" timestamptz not null, primary key ("id"));`);

    this.addSql(`create table "audit_events" ("id" text not null, "organization_id" text not null, "time" timestamptz not null, "action" text not null, "actor_id" text not null, "actor" jsonb not null, "context" jsonb not null, "container" jsonb not null, "location" jsonb null, "message" text null, "idempotency_key" text null, "received_at" timestamptz not null, primary key ("id"));`);
    this.addSql(`create index "audit_events_org_actor_idx" on "audit_events" ("organization_id", "actor_id", "time");`);
    this.addSql(`create index "audit_events_org_action_idx" on "audit_events" ("organization_id", "action", "time");`);
    this.addSql(`create index "audit_events_org_time_idx" on "audit_events" ("organization_id", "time", "id");`);
    this.addSql(`alter table "audit_events" add constraint "audit_events_org_idempotency_key_uq" unique ("organization_id", "idempotency_key");`);

    this.addSql(`create table "api_tokens" ("id" text not null, "organization_id" text not null, "token_hash" text not null, "role" text not null, "label" text null, "created_at" timestamptz not null, "last_used_at" timestamptz null, "revoked_at" timestamptz null, primary key ("id"));`);
    this.addSql(`alter table "api_tokens" add constraint "api_tokens_token_hash_unique" unique ("token_hash");`);
    this.addSql(`create index "api_tokens_organization_id_created_at_index" on "api_tokens" ("organization_id", "created_at");`);
    this.addSql(`alter table "api_tokens" add constraint "api_tokens_role_check" check ("role" in ('ADMIN', 'INGEST'));`);

    this.addSql(`create table "webhooks" ("id" text not null, "organization_id" text not null, "active_organization" text null, "url" text not null, "authorization_sealed" text null, "authorization_scheme" text null, "authorization_username" text null, "signing_secret_sealed" text not null, "previous_signing_secret_sealed" text null, "previous_signing_secret_expires_at" timestamptz null, "status" text not null default 'ACTIVE', "created_at" timestamptz not null, "updated_at" timestamptz not null, "removed_at" timestamptz null, "last_attempt_at" timestamptz null, "last_success_at" timestamptz null, "last_failure_at" timestamptz null, primary key ("id"));`);
    this.addSql(`alter table "webhooks" add constraint "webhooks_active_organization_uq" unique ("active_organization");`);
    this.addSql(`create index "webhooks_organization_id_created_at_index" on "webhooks" ("organization_id", "created_at");`);
    this.addSql(`alter table "webhooks" add constraint "webhooks_status_check" check ("status" in ('ACTIVE', 'DISABLED'));`);

    this.addSql(`create table "pending_events" ("event_id" text not null, "webhook_id" text not null, "enqueued_at" timestamptz not null, primary key ("event_id"));`);
    this.addSql(`create index "pending_events_webhook_idx" on "pending_events" ("webhook_id", "enqueued_at");`);

    this.addSql(`create table "deliveries" ("id" text not null, "organization_id" text not null, "webhook_id" text not null, "kind" text not null, "status" text not null default 'PENDING', "event_count" int not null default 0, "attempt_count" int not null default 0, "max_attempts" int not null default 4, "next_attempt_at" timestamptz null, "created_at" timestamptz not null, "completed_at" timestamptz null, "sample_events" jsonb null, primary key ("id"));`);
    this.addSql(`create index "deliveries_status_idx" on "deliveries" ("status");`);
    this.addSql(`create index "deliveries_webhook_status_idx" on "deliveries" ("webhook_id", "status");`);
    this.addSql(`create index "deliveries_org_created_idx" on "deliveries" ("organization_id", "created_at", "id");`);
    this.addSql(`alter table "deliveries" add constraint "deliveries_kind_check" check ("kind" in ('EVENTS', 'TEST'));`);
    this.addSql(`alter table "deliveries" add constraint "deliveries_status_check" check ("status" in ('PENDING', 'RETRYING', 'SUCCEEDED', 'FAILED', 'CANCELLED'));`);

    this.addSql(`create table "delivery_events" ("delivery_id" text not null, "event_id" text not null, "position" int not null, primary key ("delivery_id", "event_id"));`);
    this.addSql(`create index "delivery_events_event_idx" on "delivery_events" ("event_id");`);

    this.addSql(`create table "delivery_attempts" ("id" text not null, "delivery_id" text not null, "webhook_id" text not null, "organization_id" text not null, "attempt_number" int not null, "outcome" text not null, "status_code" int null, "error" text null, "response_body" text null, "duration_ms" int not null, "started_at" timestamptz not null, "will_retry" boolean not null, "next_attempt_at" timestamptz null, primary key ("id"));`);
    this.addSql(`create index "delivery_attempts_org_started_idx" on "delivery_attempts" ("organization_id", "started_at");`);
    this.addSql(`create index "delivery_attempts_delivery_idx" on "delivery_attempts" ("delivery_id", "attempt_number");`);
    this.addSql(`alter table "delivery_attempts" add constraint "delivery_attempts_outcome_check" check ("outcome" in ('SUCCEEDED', 'FAILED'));`);

    this.addSql(`alter table "audit_events" add constraint "audit_events_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on delete cascade;`);

    this.addSql(`alter table "api_tokens" add constraint "api_tokens_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on delete cascade;`);

    this.addSql(`alter table "webhooks" add constraint "webhooks_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on delete cascade;`);

    this.addSql(`alter table "pending_events" add constraint "pending_events_event_id_foreign" foreign key ("event_id") references "audit_events" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "pending_events" add constraint "pending_events_webhook_id_foreign" foreign key ("webhook_id") references "webhooks" ("id") on delete cascade;`);

    this.addSql(`alter table "deliveries" add constraint "deliveries_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on delete cascade;`);
    this.addSql(`alter table "deliveries" add constraint "deliveries_webhook_id_foreign" foreign key ("webhook_id") references "webhooks" ("id") on delete cascade;`);

    this.addSql(`alter table "delivery_events" add constraint "delivery_events_delivery_id_foreign" foreign key ("delivery_id") references "deliveries" ("id") on update cascade on delete cascade;`);
    this.addSql(`alter table "delivery_events" add constraint "delivery_events_event_id_foreign" foreign key ("event_id") references "audit_events" ("id") on update cascade on delete cascade;`);

    this.addSql(`alter table "delivery_attempts" add constraint "delivery_attempts_delivery_id_foreign" foreign key ("delivery_id") references "deliveries" ("id") on delete cascade;`);
    this.addSql(`alter table "delivery_attempts" add constraint "delivery_attempts_webhook_id_foreign" foreign key ("webhook_id") references "webhooks" ("id") on delete cascade;`);
    this.addSql(`alter table "delivery_attempts" add constraint "delivery_attempts_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on delete cascade;`);
  }

}
