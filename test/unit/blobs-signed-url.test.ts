/** UrlSigner: format, expiry, tampering, malformed input and secret rotation. */
import { createHmac } from 'node:crypto';
import { BlobStoreError, UrlSigner } from '../../src/blobs';

const SECRET_A = 'a'.repeat(32) + '-first-secret';
const SECRET_B = 'b'.repeat(32) + '-second-secret';
const NOW = new Date('2026-11-26T12:00:00Z');
const IN_AN_HOUR = new Date(NOW.getTime() + 3_600_000);

function parse(url: string): { key: string; exp: string; sig: string } {
  const parsed = new URL(url, 'http://localhost');
  return {
    key: decodeURIComponent(parsed.pathname.replace(/^\/files\//, '')),
    exp: parsed.searchParams.get('exp') ?? '',
    sig: parsed.searchParams.get('sig') ?? '',
  };
}

describe('UrlSigner.sign', () => {
  const signer = new UrlSigner({ secrets: [SECRET_A] });

  it('returns /files/<key>?exp=<unix seconds>&sig=<base64url HMAC-SHA256(secret, key\\nexp)>', () => {
    const url = signer.sign('tenants/t1/photos/p1', IN_AN_HOUR);
    const exp = String(IN_AN_HOUR.getTime() / 1000);
    const expected = createHmac('sha256', SECRET_A).update(`tenants/t1/photos/p1\n${exp}`).digest('base64url');
    expect(url).toBe(`/files/tenants/t1/photos/p1?exp=${exp}&sig=${expected}`);
  });

  it('rounds the expiry down to the second', () => {
    expect(parse(signer.sign('k', new Date(1_800_000_000_999))).exp).toBe('1800000000');
  });

  it('honours a custom base path', () => {
    expect(new UrlSigner({ secrets: [SECRET_A], basePath: '/media/v1' }).sign('k', IN_AN_HOUR)).toMatch(/^\/media\/v1\/k\?exp=/);
  });

  it('refuses invalid keys and dates', () => {
    expect(() => signer.sign('../etc/passwd', IN_AN_HOUR)).toThrow(BlobStoreError);
    expect(() => signer.sign('a\nb', IN_AN_HOUR)).toThrow(BlobStoreError);
    expect(() => signer.sign('k', new Date(Number.NaN))).toThrow(RangeError);
    expect(() => signer.sign('k', 'tomorrow' as unknown as Date)).toThrow(RangeError);
  });

  it('refuses weak or missing secrets and odd base paths', () => {
    expect(() => new UrlSigner({ secrets: [] })).toThrow(/at least one secret/);
    expect(() => new UrlSigner({ secrets: ['short'] })).toThrow(/at least 32/);
    expect(() => new UrlSigner({ secrets: [SECRET_A, Buffer.alloc(31)] })).toThrow(/secret #1/);
    expect(() => new UrlSigner({ secrets: [Buffer.alloc(32, 7)] })).not.toThrow();
    expect(() => new UrlSigner({ secrets: [SECRET_A], basePath: 'files/' })).toThrow();
    expect(() => new UrlSigner({ secrets: [SECRET_A], basePath: '/files/' })).toThrow();
  });
});

describe('UrlSigner.verify', () => {
  const signer = new UrlSigner({ secrets: [SECRET_A] });
  const { key, exp, sig } = parse(signer.sign('photos/p1', IN_AN_HOUR));

  it('accepts a genuine, unexpired signature (exp as string or number)', () => {
    expect(signer.verify(key, exp, sig, NOW)).toBe('ok');
    expect(signer.verify(key, Number(exp), sig, NOW)).toBe('ok');
    expect(signer.verify(key, exp, sig, new Date(IN_AN_HOUR.getTime() - 1))).toBe('ok');
  });

  it('uses the real clock by default', () => {
    const fresh = parse(signer.sign('k', new Date(Date.now() + 60_000)));
    expect(signer.verify(fresh.key, fresh.exp, fresh.sig)).toBe('ok');
  });

  it('reports expiry from the expiry second on', () => {
    expect(signer.verify(key, exp, sig, IN_AN_HOUR)).toBe('expired');
    expect(signer.verify(key, exp, sig, new Date(IN_AN_HOUR.getTime() + 86_400_000))).toBe('expired');
  });

  it('calls a tampered signature invalid, even when it is also expired', () => {
    const flipped = sig.slice(0, 10) + (sig[10] === 'A' ? 'B' : 'A') + sig.slice(11);
    expect(signer.verify(key, exp, flipped, NOW)).toBe('invalid');
    expect(signer.verify(key, exp, flipped, new Date(IN_AN_HOUR.getTime() + 1000))).toBe('invalid');
  });

  it('binds the signature to the key and the expiry', () => {
    expect(signer.verify('photos/p2', exp, sig, NOW)).toBe('invalid');
    expect(signer.verify('photos', exp, sig, NOW)).toBe('invalid');
    expect(signer.verify(key, String(Number(exp) + 1), sig, NOW)).toBe('invalid');
    expect(signer.verify(key, String(Number(exp) + 86_400), sig, NOW)).toBe('invalid');
  });

  it('rejects a signature made with another secret', () => {
    const other = new UrlSigner({ secrets: [SECRET_B] });
    expect(other.verify(key, exp, sig, NOW)).toBe('invalid');
  });

  it.each<[string, unknown, unknown, unknown]>([
    ['an empty signature', 'photos/p1', 'EXP', ''],
    ['a short signature', 'photos/p1', 'EXP', 'abc'],
    ['a padded signature', 'photos/p1', 'EXP', 'SIG='],
    ['a signature with an extra character', 'photos/p1', 'EXP', 'SIGA'],
    ['standard base64 characters', 'photos/p1', 'EXP', 'SIG+/'],
    ['a non-string signature', 'photos/p1', 'EXP', null],
    ['an array signature', 'photos/p1', 'EXP', ['SIG']],
    ['an empty expiry', 'photos/p1', '', 'SIG'],
    ['a negative expiry', 'photos/p1', '-1', 'SIG'],
    ['an expiry with a leading zero', 'photos/p1', '0EXP', 'SIG'],
    ['an expiry with a plus sign', 'photos/p1', '+EXP', 'SIG'],
    ['an expiry with spaces', 'photos/p1', ' EXP', 'SIG'],
    ['a fractional expiry', 'photos/p1', 'EXP.5', 'SIG'],
    ['an exponent expiry', 'photos/p1', '1e10', 'SIG'],
    ['a huge expiry', 'photos/p1', '9'.repeat(400), 'SIG'],
    ['a NaN expiry', 'photos/p1', Number.NaN, 'SIG'],
    ['a fractional numeric expiry', 'photos/p1', 1.5, 'SIG'],
    ['an undefined expiry', 'photos/p1', undefined, 'SIG'],
    ['a traversal key', '../photos/p1', 'EXP', 'SIG'],
    ['an empty key', '', 'EXP', 'SIG'],
    ['a non-string key', 42, 'EXP', 'SIG'],
  ])('calls %s invalid', (_, k, e, s) => {
    const fill = (value: unknown) => (typeof value === 'string' ? value.replace('EXP', exp).replace('SIG', sig) : value);
    expect(signer.verify(k as string, fill(e) as string, fill(s) as string, NOW)).toBe('invalid');
  });

  it('refuses a non-canonical spelling of the same signature bytes', () => {
    // The last of 43 base64url characters carries 2 unused bits; setting them decodes to the same bytes.
    const last = sig[sig.length - 1]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = sig.slice(0, -1) + alphabet[alphabet.indexOf(last) + 1];
    expect(Buffer.from(sibling, 'base64url').equals(Buffer.from(sig, 'base64url'))).toBe(true);
    expect(signer.verify(key, exp, sibling, NOW)).toBe('invalid');
  });
});

describe('UrlSigner secret rotation', () => {
  const before = new UrlSigner({ secrets: [SECRET_A] });
  const during = new UrlSigner({ secrets: [SECRET_B, SECRET_A] });
  const after = new UrlSigner({ secrets: [SECRET_B] });

  it('signs with the first secret and accepts any', () => {
    const old = parse(before.sign('k', IN_AN_HOUR));
    const fresh = parse(during.sign('k', IN_AN_HOUR));
    expect(during.verify(old.key, old.exp, old.sig, NOW)).toBe('ok');
    expect(during.verify(fresh.key, fresh.exp, fresh.sig, NOW)).toBe('ok');
    expect(fresh.sig).toBe(parse(after.sign('k', IN_AN_HOUR)).sig);
    expect(before.verify(fresh.key, fresh.exp, fresh.sig, NOW)).toBe('invalid');
  });

  it('stops accepting a retired secret', () => {
    const old = parse(before.sign('k', IN_AN_HOUR));
    expect(after.verify(old.key, old.exp, old.sig, NOW)).toBe('invalid');
  });

  it('still reports expiry for a URL signed with an older secret', () => {
    const old = parse(before.sign('k', IN_AN_HOUR));
    expect(during.verify(old.key, old.exp, old.sig, IN_AN_HOUR)).toBe('expired');
  });
});
