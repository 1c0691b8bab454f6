import { Migration } from '@mikro-orm/migrations';

/**
 * Each attempt keeps the request as sent: the URL it went to (so an edited webhook URL does not
 * rewrite history) and its headers, Authorization reduced to its scheme (the secret is never stored
 * here). Attempts recorded before this migration get the webhook's URL as it is now, and no headers.
 */
export class Migration20261126094500_attempt_request extends Migration {

  override name = 'Migration20261126094500_attempt_request';

  override up(): void | Promise<void> {
    this.addSql(`alter table \`delivery_attempts\` add column \`url\` text not null default '';`);
    this.addSql(`alter table \`delivery_attempts\` add column \`request_headers\` json null;`);
    this.addSql(`update \`delivery_attempts\` set \`url\` = (select \`url\` from \`webhooks\` where \`webhooks\`.\`id\` = \`delivery_attempts\`.\`webhook_id\`);`);
  }

}
