/**
 * A list of values as ONE query parameter (a Postgres array), for `= any(...)` and `unnest(...)`.
 *
 * drizzle's `inArray(col, values)` and an `array[${a}, ${b}, …]` built with `sql.join` send one parameter per value,
 * so each length of the list is a different statement text. Queries are prepared (db/connect.ts), and postgres.js
 * keeps a connection's prepared statements by text: a list whose length varies (the broadcasts of a node, a batch of
 * expired samples) would prepare a new statement for every length it takes, on every connection. One array parameter
 * keeps it one statement.
 */
import { sql, type SQL, type AnyColumn } from 'drizzle-orm';

/** Postgres element types the helpers accept (a fixed list: the type name is written into the statement). */
export type ArrayElementType = 'uuid' | 'text' | 'real' | 'int' | 'bigint';

/** `$1::type[]` with `values` as the one parameter (an empty list is an empty array). */
export function arrayParam(values: readonly (string | number)[], type: ArrayElementType): SQL {
  return sql`${sql.param([...values])}::${sql.raw(type)}[]`;
}

/** `column = any($1::type[])`: true for rows whose column is one of `values` (none for an empty list). */
export function anyOf(column: AnyColumn | SQL, values: readonly (string | number)[], type: ArrayElementType): SQL {
  return sql`${column} = any(${arrayParam(values, type)})`;
}
