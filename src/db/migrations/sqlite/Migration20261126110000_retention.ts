import { Migration } from '@mikro-orm/migrations';

/** Indexes the prune job walks: finished deliveries by completion time, audit events by recording time. */
export class Migration20261126110000_retention extends Migration {

  override name = 'Migration20261126110000_retention';

  override up(): void | Promise<void> {
    this.addSql(`create index \`deliveries_completed_idx\` on \`deliveries\` (\`completed_at\`);`);
    this.addSql(`create index \`audit_events_received_idx\` on \`audit_events\` (\`received_at\`);`);
  }

  override down(): void | Promise<void> {
    this.addSql(`drop index \`deliveries_completed_idx\`;`);
    this.addSql(`drop index \`audit_events_received_idx\`;`);
  }

}
