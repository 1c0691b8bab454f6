import { Migration } from '@mikro-orm/migrations';

/** The PostgreSQL twin of sqlite/Migration20261126093000_webhook_disable: how long a webhook has failed, and why it was disabled. */
export class Migration20261126093000_webhook_disable extends Migration {
  override name = 'Migration20261126093000_webhook_disable';

  override up(): void | Promise<void> {
    this.addSql(`alter table "webhooks" add column "failing_since" timestamptz null;`);
    this.addSql(`alter table "webhooks" add column "disabled_at" timestamptz null;`);
    this.addSql(`alter table "webhooks" add column "disabled_reason" text null;`);
    this.addSql(`alter table "webhooks" add column "dropped_buffered_events" int not null default 0;`);
  }

  override down(): void | Promise<void> {
    for (const column of ['failing_since', 'disabled_at', 'disabled_reason', 'dropped_buffered_events']) this.addSql(`alter table "webhooks" drop column "${column}";`);
  }
}
