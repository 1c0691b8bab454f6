import { Migration20261124232833_initial } from './Migration20261124232833_initial.js';

/** Migrations in order, listed explicitly so they run the same compiled or under vitest. */
export const migrationsList = [{ name: 'Migration20261124232833_initial', class: Migration20261124232833_initial }];
