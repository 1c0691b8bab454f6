import { Migration } from '@mikro-orm/migrations';

/** The PostgreSQL twin of sqlite/Migration20261126100000_job_owns_schedule: the job alone says when the next attempt runs. */
export class Migration20261126100000_job_owns_schedule extends Migration {
  override name = 'Migration20261126100000_job_owns_schedule';

  override up(): void | Promise<void> {
    this.addSql(`alter table "deliveries" drop column "next_attempt_at";`);
  }

  override down(): void | Promise<void> {
    this.addSql(`alter table "deliveries" add column "next_attempt_at" timestamptz null;`);
  }
}
