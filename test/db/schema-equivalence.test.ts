import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { postgresqlMigrations, sqliteMigrations } from '../../src/db/migrations/index.js';
import { openDatabase } from '../../src/db/orm.js';
import { TEST_ENV } from '../support/server.js';
import { tempDir } from '../support/temp-dir.js';
import { createPostgresDatabase } from '../support/test-database.js';

/** One table as both dialects can describe it: what the application relies on, in neutral terms. */
interface TableShape {
  columns: Record<string, { type: string; nullable: boolean; default: string | null }>;
  primaryKey: string[];
  indexes: Record<string, { columns: string[]; unique: boolean }>;
  foreignKeys: string[];
  checks: Record<string, string[]>;
}
type SchemaShape = Record<string, TableShape>;

/** The migrator's own bookkeeping differs by design; everything else must match. */
const IGNORED_TABLES = new Set(['mikro_orm_migrations']);

/**
 * Column types by what they hold. SQLite has no boolean: MikroORM stores booleans as integer 0/1
 * there, so PostgreSQL's boolean counts as integer. PostgreSQL's varchar/text are both text.
 */
const SQLITE_TYPES: Record<string, string> = { text: 'text', datetime: 'datetime', json: 'json', integer: 'integer' };
const POSTGRES_TYPES: Record<string, string> = {
  text: 'text',
  'character varying': 'text',
  'timestamp with time zone': 'datetime',
  jsonb: 'json',
  integer: 'integer',
  boolean: 'integer',
};

function typeOf(map: Record<string, string>, type: string): string {
  return map[type.toLowerCase()] ?? `unmapped:${type}`;
}

/** '0', "'ACTIVE'" and "'ACTIVE'::text" alike. */
function defaultOf(value: string | null): string | null {
  return value === null ? null : value.replace(/::[a-z ]+$/i, '');
}

const ACTIONS: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };

function sqliteShape(path: string): SchemaShape {
  const db = new Database(path, { readonly: true });
  try {
    const shape: SchemaShape = {};
    const tables = db.prepare(`select name, sql from sqlite_master where type = 'table' and name not like 'sqlite_%'`).all() as { name: string; sql: string }[];
    for (const { name, sql } of tables) {
      if (IGNORED_TABLES.has(name)) continue;
      const info = db.pragma(`table_info("${name}")`) as { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }[];
      const indexes: TableShape['indexes'] = {};
      for (const index of db.pragma(`index_list("${name}")`) as { name: string; unique: number; origin: string }[]) {
        if (index.origin === 'pk') continue;
        const columns = (db.pragma(`index_info("${index.name}")`) as { seqno: number; name: string }[]).sort((a, b) => a.seqno - b.seqno).map((c) => c.name);
        indexes[index.name] = { columns, unique: index.unique === 1 };
      }
      const foreignKeys = (db.pragma(`foreign_key_list("${name}")`) as { table: string; from: string; to: string; on_update: string; on_delete: string }[]).map(
        (fk) => `${fk.from} -> ${fk.table}.${fk.to} on update ${fk.on_update} on delete ${fk.on_delete}`,
      );
      const checks: TableShape['checks'] = {};
      for (const match of sql.matchAll(/check \(`(\w+)` in \(([^)]*)\)\)/gi)) {
        checks[match[1]!] = [...match[2]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!).sort();
      }
      shape[name] = {
        columns: Object.fromEntries(info.map((c) => [c.name, { type: typeOf(SQLITE_TYPES, c.type), nullable: c.notnull === 0 && c.pk === 0, default: defaultOf(c.dflt_value) }])),
        primaryKey: info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name),
        indexes,
        foreignKeys: foreignKeys.sort(),
        checks,
      };
    }
    return shape;
  } finally {
    db.close();
  }
}

async function postgresShape(url: string): Promise<SchemaShape> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const shape: SchemaShape = {};
    const tables = await client.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`);
    for (const { table_name: name } of tables.rows) {
      if (IGNORED_TABLES.has(name)) continue;
      shape[name] = { columns: {}, primaryKey: [], indexes: {}, foreignKeys: [], checks: {} };
    }
    const columns = await client.query<{ table_name: string; column_name: string; data_type: string; is_nullable: string; column_default: string | null }>(
      `select table_name, column_name, data_type, is_nullable, column_default from information_schema.columns where table_schema = 'public' order by ordinal_position`,
    );
    for (const c of columns.rows) {
      const table = shape[c.table_name];
      if (table) table.columns[c.column_name] = { type: typeOf(POSTGRES_TYPES, c.data_type), nullable: c.is_nullable === 'YES', default: defaultOf(c.column_default) };
    }
    const indexes = await client.query<{ table_name: string; index_name: string; unique: boolean; primary: boolean; columns: string[] }>(`
      select t.relname as table_name, i.relname as index_name, ix.indisunique as unique, ix.indisprimary as primary,
        array(select a.attname::text from unnest(ix.indkey) with ordinality k(attnum, ord) join pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum order by k.ord) as columns
      from pg_index ix join pg_class t on t.oid = ix.indrelid join pg_class i on i.oid = ix.indexrelid join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = 'public'`);
    for (const index of indexes.rows) {
      const table = shape[index.table_name];
      if (!table) continue;
      if (index.primary) table.primaryKey = index.columns;
      else table.indexes[index.index_name] = { columns: index.columns, unique: index.unique };
    }
    const constraints = await client.query<{ table_name: string; type: string; definition: string; columns: string[]; ref_table: string | null; ref_columns: string[] | null; on_update: string; on_delete: string }>(`
      select t.relname as table_name, c.contype as type, pg_get_constraintdef(c.oid) as definition,
        array(select a.attname::text from unnest(c.conkey) with ordinality k(attnum, ord) join pg_attribute a on a.attrelid = c.conrelid and a.attnum = k.attnum order by k.ord) as columns,
        r.relname as ref_table,
        array(select a.attname::text from unnest(c.confkey) with ordinality k(attnum, ord) join pg_attribute a on a.attrelid = c.confrelid and a.attnum = k.attnum order by k.ord) as ref_columns,
        c.confupdtype as on_update, c.confdeltype as on_delete
      from pg_constraint c join pg_class t on t.oid = c.conrelid left join pg_class r on r.oid = c.confrelid join pg_namespace n on n.oid = t.relnamespace
      where n.nspname = 'public' and c.contype in ('f', 'c')`);
    for (const c of constraints.rows) {
      const table = shape[c.table_name];
      if (!table) continue;
      if (c.type === 'f') {
        table.foreignKeys.push(`${c.columns.join(',')} -> ${c.ref_table}.${c.ref_columns!.join(',')} on update ${ACTIONS[c.on_update]} on delete ${ACTIONS[c.on_delete]}`);
      } else {
        const values = [...c.definition.matchAll(/'([^']*)'::/g)].map((m) => m[1]!).sort();
        table.checks[c.columns[0]!] = values;
      }
    }
    for (const table of Object.values(shape)) table.foreignKeys.sort();
    return shape;
  } finally {
    await client.end();
  }
}

describe('migrations of both dialects', () => {
  it('come in twins: the same names in the same order (a SQLite migration without its PostgreSQL twin fails here)', () => {
    expect(postgresqlMigrations.map((m) => m.name)).toEqual(sqliteMigrations.map((m) => m.name));
  });

  it('produce equivalent schemas: same tables, columns, types, nullability, defaults, keys, indexes and checks', async () => {
    const dir = tempDir('audithook-schema-');
    const sqlite = loadConfig({ ...TEST_ENV, DATABASE_URL: `sqlite:${join(dir, 'audithook.db')}` }, dir);
    await (await openDatabase(sqlite.database)).close(true);
    const postgresUrl = await createPostgresDatabase();
    const postgres = loadConfig({ ...TEST_ENV, DATABASE_URL: postgresUrl }, dir);
    await (await openDatabase(postgres.database)).close(true);

    const fromSqlite = sqliteShape(join(dir, 'audithook.db'));
    const fromPostgres = await postgresShape(postgresUrl);
    expect(Object.keys(fromSqlite).length).toBeGreaterThanOrEqual(8);
    for (const table of Object.values(fromSqlite)) expect(Object.values(table.columns).filter((c) => c.type.startsWith('unmapped:'))).toEqual([]);
    expect(fromPostgres).toEqual(fromSqlite);
  });
});
