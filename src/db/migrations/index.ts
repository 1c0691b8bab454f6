import { Migration20261125002932_initial } from './Migration20261125002932_initial.js';
import { Migration20261126100000_job_owns_schedule } from './Migration20261126100000_job_owns_schedule.js';
import { Migration20261126110000_retention } from './Migration20261126110000_retention.js';

/** Migrations in order, listed explicitly so they run the same compiled or under vitest. */
export const migrationsList = [
  { name: 'Migration20261125002932_initial', class: Migration20261125002932_initial },
  { name: 'Migration20261126100000_job_owns_schedule', class: Migration20261126100000_job_owns_schedule },
  { name: 'Migration20261126110000_retention', class: Migration20261126110000_retention },
];
