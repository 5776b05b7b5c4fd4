// When a start creates the demo tenant: the embedded default's first start, ATELIER_DEMO=on,
// or a start option; never for a database given by the caller (tests) unless asked.
import { demoWanted } from '../../src/demo/demo-tenant';

const start = { forced: undefined, firstStart: true, embedded: true, databaseOverridden: false };

describe('demoWanted', () => {
  test('auto: only on the first start of the embedded default', () => {
    expect(demoWanted('auto', start)).toBe(true);
    expect(demoWanted('auto', { ...start, firstStart: false })).toBe(false);
    expect(demoWanted('auto', { ...start, embedded: false })).toBe(false);
    expect(demoWanted('auto', { ...start, databaseOverridden: true })).toBe(false);
  });

  test('on: on any database and any start; off: never', () => {
    expect(demoWanted('on', { ...start, firstStart: false, embedded: false })).toBe(true);
    expect(demoWanted('off', start)).toBe(false);
  });

  test('the start option wins', () => {
    expect(demoWanted('off', { ...start, forced: true })).toBe(true);
    expect(demoWanted('on', { ...start, forced: false })).toBe(false);
  });
});
