import { Migration20261125002932_initial } from './Migration20261125002932_initial.js';

/** Migrations in order, listed explicitly so they run the same compiled or under vitest. */
export const migrationsList = [{ name: 'Migration20261125002932_initial', class: Migration20261125002932_initial }];
