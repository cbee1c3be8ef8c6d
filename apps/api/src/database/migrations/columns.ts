import { TableForeignKey, TableIndex, type TableColumnOptions } from 'typeorm';

/*
 * The column kinds of the migrations' tables (written with TypeORM's portable Table API, so the same
 * migration runs on SQLite and PostgreSQL), as `database/entities/columns.ts` declares them for the
 * entities. Timestamps are ISO-8601 UTC strings (fixed width, so they sort correctly). A migration is
 * history: a helper here may never change what an existing migration runs.
 */
/** A row's own id (36 characters of text: a UUID); the primary key when it is called `id`. */
export const id = (name = 'id'): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: '36',
  isPrimary: name === 'id',
});
/** The id of another row (36 characters of text); a foreign key only where `fk` declares one. */
export const ref = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: '36',
  isNullable: nullable,
});
/** Text of at most `length` characters, with an optional default (quoted as SQL text). */
export const text = (name: string, length: number, nullable = false, defaultValue?: string): TableColumnOptions => ({
  name,
  type: 'varchar',
  length: String(length),
  isNullable: nullable,
  ...(defaultValue === undefined ? {} : { default: `'${defaultValue}'` }),
});
/** A moment as an ISO-8601 UTC string: 30 characters of text. */
export const time = (name: string, nullable = false): TableColumnOptions => text(name, 30, nullable);
/** An integer, with an optional default. */
export const int = (name: string, defaultValue?: number, nullable = false): TableColumnOptions => ({
  name,
  type: 'integer',
  isNullable: nullable,
  ...(defaultValue === undefined ? {} : { default: defaultValue }),
});
/** A yes/no that starts as no unless said. */
export const bool = (name: string, defaultValue = false): TableColumnOptions => ({
  name,
  type: 'boolean',
  default: defaultValue ? 'true' : 'false',
});
/** JSON as text (TypeORM's `simple-json`). */
export const json = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'text',
  isNullable: nullable,
});
/** A foreign key from `column` to `table`.id. */
export const fk = (column: string, table: string, onDelete: 'CASCADE' | 'RESTRICT' | 'SET NULL' = 'RESTRICT') =>
  new TableForeignKey({ columnNames: [column], referencedTableName: table, referencedColumnNames: ['id'], onDelete });

/** A plain (non-unique unless said) index on the given columns. */
export const index = (name: string, columnNames: string[], isUnique = false) =>
  new TableIndex({ name, columnNames, ...(isUnique ? { isUnique } : {}) });

/** Long text with no length limit (a mail's body, a webhook's event filter). */
export const longText = (name: string, nullable = false): TableColumnOptions => ({
  name,
  type: 'text',
  isNullable: nullable,
});
