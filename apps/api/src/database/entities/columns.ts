import { Column, PrimaryColumn, type ColumnOptions } from 'typeorm';

/*
 * The column kinds every table shares, so that each convention of the schema is written once (the
 * migrations in `database/migrations/` create the same types; a decorator here never changes what
 * a column is, only where that is said). A name is given where the column's differs from the
 * property's (snake_case in the schema, camelCase in the code).
 */
type Name = string | undefined;
type Nullable = Pick<ColumnOptions, 'nullable'>;

const named = (name: Name): Pick<ColumnOptions, 'name'> => (name === undefined ? {} : { name });

/** A row's own id (or a part of a composite key): a UUID the service generates, as 36 characters of text. */
export const IdColumn = (name?: string) => PrimaryColumn({ ...named(name), type: 'varchar', length: 36 });

/** The id of another row (a foreign key only where the migration declares one): 36 characters of text. */
export const ReferenceColumn = (name: string, options: Nullable = {}) =>
  Column({ name, type: 'varchar', length: 36, ...options });

/**
 * A moment as an ISO-8601 UTC string (`new Date().toISOString()`), in 30 characters of text: the same
 * type on SQLite and PostgreSQL, and it sorts as text in time order.
 */
export const TimestampColumn = (name?: string, options: Nullable = {}) =>
  Column({ ...named(name), type: 'varchar', length: 30, ...options });

/**
 * A version that starts at 1 and grows with each change: a row's `version` (its ETag, compared with
 * If-Match), a permission set's `permissions_version`, an account's `roles_version`.
 */
export const VersionCounterColumn = (name?: string) => Column({ ...named(name), type: 'integer', default: 1 });

/** A yes/no setting or state that starts as no. */
export const FlagColumn = (name?: string) => Column({ ...named(name), type: 'boolean', default: false });

/**
 * A SHA-256 as 64 hex characters: tokens and secrets are stored only as their hash, and the activity
 * log chains its entries by hash.
 */
export const HashColumn = (name?: string, options: Pick<ColumnOptions, 'unique'> = {}) =>
  Column({ ...named(name), type: 'varchar', length: 64, ...options });
