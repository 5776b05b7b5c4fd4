// Which callers the demo session endpoint counts as on this machine (the HTTP route is tested
// in test/integration/demo-and-catalog-events.test.ts).
import { isLoopback } from '../../src/demo/demo-sessions';

test.each([
  ['127.0.0.1', true],
  ['127.8.9.10', true],
  ['::1', true],
  ['::ffff:127.0.0.1', true],
  ['192.0.2.2', false],
  ['::ffff:192.0.2.2', false],
  ['fd00::2', false],
  ['0.0.0.0', false],
  ['not an address', false],
  [undefined, false],
] as const)('isLoopback(%s) is %s', (address, expected) => {
  expect(isLoopback(address)).toBe(expected);
});
