import { Migration20261125002932_initial } from './Migration20261125002932_initial.js';
import { Migration20261126093000_attempt_request } from './Migration20261126093000_attempt_request.js';

/** Migrations in order, listed explicitly so they run the same compiled or under vitest. */
export const migrationsList = [
  { name: 'Migration20261125002932_initial', class: Migration20261125002932_initial },
  { name: 'Migration20261126093000_attempt_request', class: Migration20261126093000_attempt_request },
];
