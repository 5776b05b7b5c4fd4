// SQL with its values written in as literals, for the hot reads that go to the database in one
// simple-protocol message (Database.readAsTenant): a message with parameters needs the extended
// protocol, one round trip per statement. Every value is checked by type and quoted by the
// driver's escapeLiteral (pg's: single quotes doubled, backslashes under E''), so no value can
// end its literal.
import pg from 'pg';

export type InlineValue = string | number | boolean | Date | null;

/** A statement built by `inlineSql`; only this module makes one. */
export class InlineSql {
  /** @internal */
  constructor(readonly text: string) {}
}

function literal(value: InlineValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error('inlineSql: a number must be finite');
    return String(value);
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new Error('inlineSql: invalid date');
    return `${pg.escapeLiteral(value.toISOString())}::timestamptz`;
  }
  if (typeof value === 'string') {
    if (value.includes('\0')) throw new Error('inlineSql: a string may not contain NUL');
    return pg.escapeLiteral(value);
  }
  throw new Error(`inlineSql: unsupported value of type ${typeof value}`);
}

/** Joins statements or fragments built by `inlineSql` (no values of their own). */
export function joinSql(parts: readonly InlineSql[], separator: string): InlineSql {
  return new InlineSql(parts.map((part) => part.text).join(separator));
}

/**
 * A tagged template: `inlineSql\`... WHERE id = ${id}\``. An interpolated InlineSql is
 * inserted as SQL (fragments); anything else becomes a quoted literal.
 */
export function inlineSql(strings: TemplateStringsArray, ...values: (InlineValue | InlineSql)[]): InlineSql {
  let text = strings[0]!;
  values.forEach((value, i) => {
    text += (value instanceof InlineSql ? value.text : literal(value)) + strings[i + 1]!;
  });
  return new InlineSql(text);
}
