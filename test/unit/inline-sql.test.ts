// inlineSql writes values as literals no value can break out of, and refuses what it cannot write.
import { inlineSql, joinSql } from '../../src/db/inline-sql';

describe('inlineSql', () => {
  test('quotes strings (quotes doubled, backslashes under E), writes numbers, booleans, null and instants', () => {
    const at = new Date('2026-01-02T03:04:05.006Z');
    expect(inlineSql`SELECT ${"it's"}, ${'a\\b'}, ${42}, ${-1.5}, ${true}, ${false}, ${null}, ${at}`.text).toBe(
      `SELECT 'it''s',  E'a\\\\b', 42, -1.5, TRUE, FALSE, NULL, '2026-01-02T03:04:05.006Z'::timestamptz`,
    );
  });

  test('fragments are inserted as SQL, and joined', () => {
    const where = joinSql([inlineSql`a = ${1}`, inlineSql`b = ${'x'}`], ' AND ');
    expect(inlineSql`SELECT 1 WHERE ${where}${inlineSql``}`.text).toBe(`SELECT 1 WHERE a = 1 AND b = 'x'`);
  });

  test('refuses NUL in strings, non-finite numbers, invalid dates and other types', () => {
    expect(() => inlineSql`${'a\0b'}`).toThrow(/NUL/);
    expect(() => inlineSql`${Number.NaN}`).toThrow(/finite/);
    expect(() => inlineSql`${Infinity}`).toThrow(/finite/);
    expect(() => inlineSql`${new Date('nope')}`).toThrow(/date/);
    expect(() => inlineSql`${{} as never}`).toThrow(/unsupported/);
  });
});
