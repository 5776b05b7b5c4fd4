// An unknown COMMIT outcome must never read as a lost connection: the database layer retries
// those, and this one must not be run again (the fault tests drive the real paths).
import { CommitOutcomeUnknown } from '../../src/db/commit-outcome';
import { isConnectionLost } from '../../src/db/database';

test.each(['in progress', 'too old to tell', 'the database did not answer'])(
  'CommitOutcomeUnknown (%s) is not a lost connection',
  (detail) => {
    expect(isConnectionLost(new CommitOutcomeUnknown('1234', detail))).toBe(false);
  },
);

test('a closed connection reported by the PostgreSQL adapter is a lost connection', () => {
  expect(isConnectionLost({ name: 'DriverAdapterError', message: 'ConnectionClosed', cause: { kind: 'ConnectionClosed' } })).toBe(true);
});
