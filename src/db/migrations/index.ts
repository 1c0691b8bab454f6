import { Migration20261125002932_initial } from './Migration20261125002932_initial.js';
import { Migration20261126093000_webhook_disable } from './Migration20261126093000_webhook_disable.js';
import { Migration20261126094500_attempt_request } from './Migration20261126094500_attempt_request.js';
import { Migration20261126100000_job_owns_schedule } from './Migration20261126100000_job_owns_schedule.js';
import { Migration20261126110000_retention } from './Migration20261126110000_retention.js';

/** Migrations in order, listed explicitly so they run the same compiled or under vitest. */
export const migrationsList = [
  { name: 'Migration20261125002932_initial', class: Migration20261125002932_initial },
  { name: 'Migration20261126093000_webhook_disable', class: Migration20261126093000_webhook_disable },
  { name: 'Migration20261126094500_attempt_request', class: Migration20261126094500_attempt_request },
  { name: 'Migration20261126100000_job_owns_schedule', class: Migration20261126100000_job_owns_schedule },
  { name: 'Migration20261126110000_retention', class: Migration20261126110000_retention },
];
