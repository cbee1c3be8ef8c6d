import type { PageDto } from '@rolecall/contracts';
import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/**
 * One page of a newest-first list read by keyset on an integer column (a seq or a serial id): the
 * rows of `query` below the cursor, at most `limit` of them, and the next page's cursor (the last
 * row's key) when more are left. Reads `limit + 1` rows to know.
 */
export async function newestFirstPage<Row extends ObjectLiteral, Item>(
  query: SelectQueryBuilder<Row>,
  key: keyof Row & string,
  page: { cursor?: string | undefined; limit: number },
  toItem: (row: Row) => Item,
): Promise<PageDto<Item>> {
  const column = `${query.alias}.${key}`;
  if (page.cursor) query.andWhere(`${column} < :cursor`, { cursor: Number(page.cursor) });
  const rows = await query
    .orderBy(column, 'DESC')
    .limit(page.limit + 1)
    .getMany();
  const more = rows.length > page.limit;
  if (more) rows.pop();
  return { items: rows.map(toItem), nextCursor: more ? String(rows.at(-1)![key]) : null };
}
