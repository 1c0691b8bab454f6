import { Migration } from '@mikro-orm/migrations';

/** The PostgreSQL twin of sqlite/Migration20261126094500_attempt_request: the URL and headers each attempt was sent with. */
export class Migration20261126094500_attempt_request extends Migration {
  override name = 'Migration20261126094500_attempt_request';

  override up(): void | Promise<void> {
    this.addSql(`alter table "delivery_attempts" add column "url" text not null default '';`);
    this.addSql(`alter table "delivery_attempts" add column "request_headers" jsonb null;`);
    this.addSql(`update "delivery_attempts" set "url" = (select "url" from "webhooks" where "webhooks"."id" = "delivery_attempts"."webhook_id");`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "delivery_attempts" drop column "request_headers";`);
    this.addSql(`alter table "delivery_attempts" drop column "url";`);
  }
}
