import type BetterSqlite3 from 'better-sqlite3';
import {
  CompiledQuery,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
} from 'kysely';
import { whenNotBusy } from './sqlite-busy.js';

/** Prepared statements kept per connection; the ORM's SQL repeats, multi-row inserts vary by row count. */
const STATEMENT_CACHE_SIZE = 256;

/** SQLite has no boolean or date type: the ORM stores booleans as 0/1 and dates as epoch milliseconds, and so does this. */
function toSqliteValue(value: unknown): unknown {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  return value;
}

/**
 * One better-sqlite3 connection shared by several processes' worth of writers: statements outside a
 * transaction retry SQLITE_BUSY asynchronously, and prepared statements are reused.
 */
class SharedFileConnection implements DatabaseConnection {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(
    readonly db: BetterSqlite3.Database,
    private readonly busyTimeoutMs: number,
  ) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    // Inside BEGIN IMMEDIATE this connection already holds the write lock: nothing to wait for.
    if (this.db.inTransaction) return this.run<R>(compiled);
    return whenNotBusy(() => this.run<R>(compiled), this.busyTimeoutMs);
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    for (const row of this.prepare(compiled.sql).iterate(compiled.parameters.map(toSqliteValue))) yield { rows: [row as R] };
  }

  private run<R>(compiled: CompiledQuery): QueryResult<R> {
    const statement = this.prepare(compiled.sql);
    const parameters = compiled.parameters.map(toSqliteValue);
    if (statement.reader) return { rows: statement.all(parameters) as R[] };
    const { changes, lastInsertRowid } = statement.run(parameters);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  private prepare(sql: string): BetterSqlite3.Statement {
    let statement = this.statements.get(sql);
    if (statement) {
      // Map keeps insertion order: re-inserting marks it recently used.
      this.statements.delete(sql);
    } else {
      statement = this.db.prepare(sql);
      if (this.statements.size >= STATEMENT_CACHE_SIZE) this.statements.delete(this.statements.keys().next().value!);
    }
    this.statements.set(sql, statement);
    return statement;
  }
}

function quoteName(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Transactions start with BEGIN IMMEDIATE (retried while another process writes), so they never fail half-way with BUSY_SNAPSHOT. */
class ImmediateTransactionDriver implements Driver {
  private connection: SharedFileConnection | null = null;

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly busyTimeoutMs: number,
  ) {}

  async init(): Promise<void> {
    this.connection = new SharedFileConnection(this.db, this.busyTimeoutMs);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return this.connection!;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await whenNotBusy(() => connection.executeQuery(CompiledQuery.raw('begin immediate')), this.busyTimeoutMs);
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await whenNotBusy(() => connection.executeQuery(CompiledQuery.raw('commit')), this.busyTimeoutMs);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if ((connection as SharedFileConnection).db.inTransaction) await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async savepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`savepoint ${quoteName(name)}`));
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`rollback to ${quoteName(name)}`));
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw(`release ${quoteName(name)}`));
  }

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {
    this.db.close();
  }
}

/** The Kysely dialect the ORM runs on for SQLite: several processes may share the file safely. */
export class SharedFileSqliteDialect implements Dialect {
  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly busyTimeoutMs: number,
  ) {}

  createDriver(): Driver {
    return new ImmediateTransactionDriver(this.db, this.busyTimeoutMs);
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler();
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }
}
