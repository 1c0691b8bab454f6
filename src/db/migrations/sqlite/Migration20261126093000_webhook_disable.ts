import { Migration } from '@mikro-orm/migrations';

/** Disabling failing webhooks: when and why one was turned off, since when it fails, and events dropped from its buffer. */
export class Migration20261126093000_webhook_disable extends Migration {

  override name = 'Migration20261126093000_webhook_disable';

  override up(): void | Promise<void> {
    this.addSql(`alter table \`webhooks\` add column \`failing_since\` datetime null;`);
    this.addSql(`alter table \`webhooks\` add column \`disabled_at\` datetime null;`);
    this.addSql(`alter table \`webhooks\` add column \`disabled_reason\` text null;`);
    this.addSql(`alter table \`webhooks\` add column \`dropped_buffered_events\` integer not null default 0;`);
  }

}
