import { Migration } from '@mikro-orm/migrations';

/** The first schema: organizations, tokens, audit events, webhooks, deliveries and their outbox. */
export class Migration20261125002932_initial extends Migration {

  override name = 'Migration20261125002932_initial';

  override up(): void | Promise<void> {
    this.addSql(`create table \`organizations\` (\`id\` text not null primary key, \`name\` text not null, \`created_at\` datetime not null);`);

    this.addSql(`create table \`audit_events\` (\`id\` text not null primary key, \`organization_id\` text not null, \`time\` datetime not null, \`action\` text not null, \`actor_id\` text not null, \`actor\` json not null, \`context\` json not null, \`container\` json not null, \`location\` json null, \`message\` text null, \`idempotency_key\` text null, \`received_at\` datetime not null, constraint \`audit_events_organization_id_foreign\` foreign key (\`organization_id\`) references \`organizations\` (\`id\`) on delete cascade);`);
    this.addSql(`create index \`audit_events_org_actor_idx\` on \`audit_events\` (\`organization_id\`, \`actor_id\`, \`time\`);`);
    this.addSql(`create index \`audit_events_org_action_idx\` on \`audit_events\` (\`organization_id\`, \`action\`, \`time\`);`);
    this.addSql(`create index \`audit_events_org_time_idx\` on \`audit_events\` (\`organization_id\`, \`time\`, \`id\`);`);
    this.addSql(`create unique index \`audit_events_org_idempotency_key_uq\` on \`audit_events\` (\`organization_id\`, \`idempotency_key\`);`);

    this.addSql(`create table \`api_tokens\` (\`id\` text not null primary key, \`organization_id\` text not null, \`token_hash\` text not null, \`role\` text check (\`role\` in ('ADMIN', 'INGEST')) not null, \`label\` text null, \`created_at\` datetime not null, \`last_used_at\` datetime null, \`revoked_at\` datetime null, constraint \`api_tokens_organization_id_foreign\` foreign key (\`organization_id\`) references \`organizations\` (\`id\`) on delete cascade);`);
    this.addSql(`create unique index \`api_tokens_token_hash_unique\` on \`api_tokens\` (\`token_hash\`);`);
    this.addSql(`create index \`api_tokens_organization_id_created_at_index\` on \`api_tokens\` (\`organization_id\`, \`created_at\`);`);

    this.addSql(`create table \`webhooks\` (\`id\` text not null primary key, \`organization_id\` text not null, \`active_organization\` text null, \`url\` text not null, \`authorization_sealed\` text null, \`authorization_scheme\` text null, \`authorization_username\` text null, \`signing_secret_sealed\` text not null, \`previous_signing_secret_sealed\` text null, \`previous_signing_secret_expires_at\` datetime null, \`status\` text check (\`status\` in ('ACTIVE', 'DISABLED')) not null default 'ACTIVE', \`created_at\` datetime not null, \`updated_at\` datetime not null, \`removed_at\` datetime null, \`last_attempt_at\` datetime null, \`last_success_at\` datetime null, \`last_failure_at\` datetime null, constraint \`webhooks_organization_id_foreign\` foreign key (\`organization_id\`) references \`organizations\` (\`id\`) on delete cascade);`);
    this.addSql(`create unique index \`webhooks_active_organization_uq\` on \`webhooks\` (\`active_organization\`);`);
    this.addSql(`create index \`webhooks_organization_id_created_at_index\` on \`webhooks\` (\`organization_id\`, \`created_at\`);`);

    this.addSql(`create table \`pending_events\` (\`event_id\` text not null primary key, \`webhook_id\` text not null, \`enqueued_at\` datetime not null, constraint \`pending_events_event_id_foreign\` foreign key (\`event_id\`) references \`audit_events\` (\`id\`) on update cascade on delete cascade, constraint \`pending_events_webhook_id_foreign\` foreign key (\`webhook_id\`) references \`webhooks\` (\`id\`) on delete cascade);`);
    this.addSql(`create index \`pending_events_webhook_idx\` on \`pending_events\` (\`webhook_id\`, \`enqueued_at\`);`);

    this.addSql(`create table \`deliveries\` (\`id\` text not null primary key, \`organization_id\` text not null, \`webhook_id\` text not null, \`kind\` text check (\`kind\` in ('EVENTS', 'TEST')) not null, \`status\` text check (\`status\` in ('PENDING', 'RETRYING', 'SUCCEEDED', 'FAILED', 'CANCELLED')) not null default 'PENDING', \`event_count\` integer not null default 0, \`attempt_count\` integer not null default 0, \`max_attempts\` integer not null default 4, \`next_attempt_at\` datetime null, \`created_at\` datetime not null, \`completed_at\` datetime null, \`sample_events\` json null, constraint \`deliveries_organization_id_foreign\` foreign key (\`organization_id\`) references \`organizations\` (\`id\`) on delete cascade, constraint \`deliveries_webhook_id_foreign\` foreign key (\`webhook_id\`) references \`webhooks\` (\`id\`) on delete cascade);`);
    this.addSql(`create index \`deliveries_status_idx\` on \`deliveries\` (\`status\`);`);
    this.addSql(`create index \`deliveries_webhook_status_idx\` on \`deliveries\` (\`webhook_id\`, \`status\`);`);
    this.addSql(`create index \`deliveries_org_created_idx\` on \`deliveries\` (\`organization_id\`, \`created_at\`, \`id\`);`);

    this.addSql(`create table \`delivery_events\` (\`delivery_id\` text not null, \`event_id\` text not null, \`position\` integer not null, primary key (\`delivery_id\`, \`event_id\`), constraint \`delivery_events_delivery_id_foreign\` foreign key (\`delivery_id\`) references \`deliveries\` (\`id\`) on update cascade on delete cascade, constraint \`delivery_events_event_id_foreign\` foreign key (\`event_id\`) references \`audit_events\` (\`id\`) on update cascade on delete cascade);`);
    this.addSql(`create index \`delivery_events_event_idx\` on \`delivery_events\` (\`event_id\`);`);

    this.addSql(`create table \`delivery_attempts\` (\`id\` text not null primary key, \`delivery_id\` text not null, \`webhook_id\` text not null, \`organization_id\` text not null, \`attempt_number\` integer not null, \`outcome\` text check (\`outcome\` in ('SUCCEEDED', 'FAILED')) not null, \`status_code\` integer null, \`error\` text null, \`response_body\` text null, \`duration_ms\` integer not null, \`started_at\` datetime not null, \`will_retry\` integer not null, \`next_attempt_at\` datetime null, constraint \`delivery_attempts_delivery_id_foreign\` foreign key (\`delivery_id\`) references \`deliveries\` (\`id\`) on delete cascade, constraint \`delivery_attempts_webhook_id_foreign\` foreign key (\`webhook_id\`) references \`webhooks\` (\`id\`) on delete cascade, constraint \`delivery_attempts_organization_id_foreign\` foreign key (\`organization_id\`) references \`organizations\` (\`id\`) on delete cascade);`);
    this.addSql(`create index \`delivery_attempts_org_started_idx\` on \`delivery_attempts\` (\`organization_id\`, \`started_at\`);`);
    this.addSql(`create index \`delivery_attempts_delivery_idx\` on \`delivery_attempts\` (\`delivery_id\`, \`attempt_number\`);`);
  }

}
