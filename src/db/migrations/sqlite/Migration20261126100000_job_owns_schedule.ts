import { Migration } from '@mikro-orm/migrations';

/**
 * The Agenda job is the one owner of when a delivery's next attempt runs: `deliveries.next_attempt_at`
 * (a second copy of it) goes; the API derives the time from the attempt history.
 */
export class Migration20261126100000_job_owns_schedule extends Migration {
  override name = 'Migration20261126100000_job_owns_schedule';

  override up(): void | Promise<void> {
    this.addSql('alter table `deliveries` drop column `next_attempt_at`;');
  }

  override down(): void | Promise<void> {
    this.addSql('alter table `deliveries` add column `next_attempt_at` datetime null;');
  }
}
