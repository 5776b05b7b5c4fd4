// API keys: looked up by their visible prefix, their hash compared in constant time.
import { digestEqual, generateApiKey, parseApiKey, sha256Hex } from '../../src/auth/tokens';

test('an API key parses to its tenant, its visible prefix and its hash', () => {
  const tenantId = '0b7e5f3c-1d2a-4b5c-8d9e-0f1a2b3c4d5e';
  const key = generateApiKey(tenantId);
  expect(parseApiKey(key.secret)).toEqual({ tenantId, prefix: key.prefix, secretHash: key.secretHash });
});

test('digestEqual compares hex digests, false for other lengths or empty', () => {
  const a = sha256Hex('a');
  expect(digestEqual(a, sha256Hex('a'))).toBe(true);
  expect(digestEqual(a, sha256Hex('b'))).toBe(false);
  expect(digestEqual(a, a.slice(0, 62))).toBe(false);
  expect(digestEqual('', '')).toBe(false);
});
