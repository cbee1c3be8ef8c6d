import type { DataSource, EntityManager, EntityMetadata, EntityTarget, ObjectLiteral } from 'typeorm';
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js';

const built = new WeakMap<DataSource, Map<string, EntityColumns<ObjectLiteral>>>();

/**
 * One entity's columns under a table alias, for hand-written SQL on the hottest paths: a SELECT list
 * built once from TypeORM's metadata (`alias.column AS "alias_column"`, TypeORM's own naming), and a
 * hydrator that turns a raw row back into the entity with the driver's own value conversion (SQLite's
 * 0/1 booleans, for one). TypeORM's query builder spends ~0.2 ms per query generating SQL and mapping
 * names; every request authenticates and most lists load members' people, roles and teams, so those
 * run prepared statements instead.
 */
export class EntityColumns<T extends ObjectLiteral> {
  readonly select: string;
  private readonly metadata: EntityMetadata;
  private readonly columns: { key: string; column: ColumnMetadata }[];
  private readonly primaryKey: string;

  private constructor(
    private readonly dataSource: DataSource,
    entity: EntityTarget<T>,
    alias: string,
    properties?: readonly string[],
  ) {
    this.metadata = dataSource.getMetadata(entity);
    const chosen = properties
      ? this.metadata.columns.filter((column) => properties.includes(column.propertyName))
      : this.metadata.columns;
    if (properties && chosen.length !== properties.length)
      throw new Error(`${this.metadata.name}: unknown column in ${properties.join(', ')}`);
    this.columns = chosen.map((column) => ({ key: `${alias}_${column.databaseName}`, column }));
    this.select = this.columns.map(({ key, column }) => `${alias}.${column.databaseName} AS "${key}"`).join(', ');
    const primary = this.metadata.primaryColumns[0];
    if (!primary) throw new Error(`${this.metadata.name} has no primary column`);
    this.primaryKey = `${alias}_${primary.databaseName}`;
  }

  /** Built once per data source, entity and alias. */
  static of<T extends ObjectLiteral>(dataSource: DataSource, entity: EntityTarget<T>, alias: string): EntityColumns<T> {
    let byKey = built.get(dataSource);
    if (!byKey) built.set(dataSource, (byKey = new Map()));
    const key = `${dataSource.getMetadata(entity).name}|${alias}`;
    let columns = byKey.get(key);
    if (!columns)
      byKey.set(
        key,
        (columns = new EntityColumns(dataSource, entity, alias) as unknown as EntityColumns<ObjectLiteral>),
      );
    return columns as unknown as EntityColumns<T>;
  }

  /**
   * Only these columns (the primary key among them): a narrower SELECT list and hydrator for a path
   * that needs a handful of an entity's columns (the live handshake, issue 18: every column read is
   * parsed, converted and allocated per row).
   */
  static pick<T extends ObjectLiteral, K extends keyof T & string>(
    dataSource: DataSource,
    entity: EntityTarget<T>,
    alias: string,
    properties: readonly K[],
  ): EntityColumns<Pick<T, K>> {
    return new EntityColumns(dataSource, entity, alias, properties) as unknown as EntityColumns<Pick<T, K>>;
  }

  /** The entity in a raw row; null when an outer join found none (its primary key is null). */
  hydrate(raw: Record<string, unknown>): T | null {
    if (raw[this.primaryKey] === null || raw[this.primaryKey] === undefined) return null;
    const entity = this.metadata.create() as T;
    for (const { key, column } of this.columns) {
      (entity as Record<string, unknown>)[column.propertyName] = this.dataSource.driver.prepareHydratedValue(
        raw[key],
        column,
      );
    }
    return entity;
  }
}

const isPostgres = (dataSource: DataSource): boolean => dataSource.options.type === 'postgres';

/** The n-th (1-based) bound parameter in the database's own syntax. */
export const parameter = (dataSource: DataSource, n: number): string => (isPostgres(dataSource) ? `$${n}` : '?');

/**
 * `column` is one of a list bound as the n-th parameter (`listParameter`): one parameter whatever the
 * list's length (`= ANY($n)` on PostgreSQL, `IN (SELECT value FROM json_each(?))` on SQLite), so the
 * statement text does not change with it and each id is a primary-key probe.
 */
export const inList = (dataSource: DataSource, column: string, n: number): string =>
  isPostgres(dataSource) ? `${column} = ANY($${n})` : `${column} IN (SELECT value FROM json_each(?))`;

export const listParameter = (dataSource: DataSource, values: readonly string[]): unknown =>
  isPostgres(dataSource) ? [...values] : JSON.stringify(values);

/**
 * Positional parameters for hand-written SQL, numbered in order of use (`$1, $2…` on PostgreSQL, `?`
 * on SQLite): `add` returns the placeholder, so build the text left to right.
 */
export class SqlParams {
  readonly values: unknown[] = [];

  constructor(private readonly dataSource: DataSource) {}

  add(value: unknown): string {
    this.values.push(value);
    return parameter(this.dataSource, this.values.length);
  }
}

const readers = new WeakMap<DataSource, Map<string, RowReader<ObjectLiteral>>>();

/**
 * `findOneBy` with equalities on chosen columns, as hand-written SQL built once per data source (the
 * entity's every column, TypeORM's value conversion): for the reads every mutation makes — the
 * account lock, the actor's re-check, the member a change is about — which through the query builder
 * spend more of the node's CPU building SQL and mapping names than the database spends answering.
 * `lock`: `FOR UPDATE` on PostgreSQL (SQLite's transactions are already serial).
 */
export class RowReader<T extends ObjectLiteral> {
  private readonly sql: string;
  private readonly columns: EntityColumns<T>;

  private constructor(
    dataSource: DataSource,
    entity: EntityTarget<T>,
    by: readonly (keyof T & string)[],
    lock: boolean,
  ) {
    const metadata = dataSource.getMetadata(entity);
    const alias = 'r0';
    this.columns = EntityColumns.of(dataSource, entity, alias);
    const where = by.map((property, i) => {
      const column = metadata.findColumnWithPropertyName(property);
      if (!column) throw new Error(`${metadata.name} has no column ${property}`);
      return `${alias}.${column.databaseName} = ${parameter(dataSource, i + 1)}`;
    });
    const locking = lock && isPostgres(dataSource) ? ' FOR UPDATE' : '';
    this.sql = `SELECT ${this.columns.select} FROM ${metadata.tableName} ${alias} WHERE ${where.join(' AND ')}${locking}`;
  }

  /** Built once per data source, entity, columns and lock. */
  static of<T extends ObjectLiteral>(
    dataSource: DataSource,
    entity: EntityTarget<T>,
    by: readonly (keyof T & string)[],
    options: { lock?: boolean } = {},
  ): RowReader<T> {
    let byKey = readers.get(dataSource);
    if (!byKey) readers.set(dataSource, (byKey = new Map()));
    const key = `${dataSource.getMetadata(entity).name}|${by.join(',')}|${options.lock === true}`;
    let reader = byKey.get(key);
    if (!reader)
      byKey.set(
        key,
        (reader = new RowReader(dataSource, entity, by, options.lock === true) as unknown as RowReader<ObjectLiteral>),
      );
    return reader as unknown as RowReader<T>;
  }

  /** The row whose columns equal `values` (in the order of `by`), or null. */
  async one(manager: EntityManager, values: readonly unknown[]): Promise<T | null> {
    const rows = await manager.query<Record<string, unknown>[]>(this.sql, [...values]);
    return rows[0] ? this.columns.hydrate(rows[0]) : null;
  }
}
