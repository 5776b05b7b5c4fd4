// Which addresses a webhook delivery may connect to (public-address.ts), and what a failed
// attempt records (describeFailure): only public IPv4 unicast and IPv6 global unicast
// (2000::/3), never an IPv6 form that carries an IPv4 address; the recorded reason never names
// the address a host resolved to.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ipLiteral, isPublicAddress, PrivateAddressError, publicOnlyLookup } from '../../src/webhooks/public-address';
import { postWebhook } from '../../src/webhooks/webhook-post';
import { describeFailure } from '../../src/webhooks/webhook-service';

describe('isPublicAddress', () => {
  test.each([
    // IPv4 public unicast
    ['8.8.8.8', true],
    ['93.184.216.34', true],
    // IPv6 global unicast (2000::/3)
    ['2606:4700:4700::1111', true],
    ['2a00:1450:4001:82b::200e', true],
    ['3fff:ffff::1', true],
  ])('%s is public', (address, expected) => {
    expect(isPublicAddress(address)).toBe(expected);
  });

  test.each([
    // IPv4: loopback, private, link-local, CGNAT, unspecified, broadcast, multicast, reserved
    '127.0.0.1',
    '127.1.2.3',
    '10.0.0.5',
    '172.16.0.1',
    '192.168.1.20',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '255.255.255.255',
    '224.0.0.1',
    '240.0.0.1',
    '192.0.2.1',
    // IPv6 outside 2000::/3
    '::',
    '::1',
    'fe80::1',
    'fc00::1',
    'fd00::1',
    'ff02::1',
    'fec0::1',
    '100::1',
    '4000::1',
    '8000::1',
    'e000::1',
    // IPv4 inside IPv6: compatible (::a.b.c.d), mapped (::ffff:a.b.c.d), even of a public IPv4 address; SIIT; NAT64
    '::7f00:1',
    '::127.0.0.1',
    '::8.8.8.8',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:8.8.8.8',
    '::ffff:0:7f00:1',
    '64:ff9b::7f00:1',
    '64:ff9b::808:808',
    // special blocks inside 2000::/3: documentation, 6to4, Teredo, benchmarking, ORCHID
    '2001:db8::1',
    '2002:7f00:1::1',
    '2001::1',
    '2001:2::1',
    '2001:20::1',
    // not addresses
    'localhost',
    '',
    'example.com',
    '1.2.3',
  ])('%s is refused', (address) => {
    expect(isPublicAddress(address)).toBe(false);
  });

  test('URL hosts: the WHATWG parser writes IPv4-compatible and mapped forms in hex; they stay refused', () => {
    for (const url of ['http://[::7f00:1]/', 'http://[::127.0.0.1]/', 'http://[::ffff:127.0.0.1]/', 'http://[0:0:0:0:0:0:7f00:1]/']) {
      const literal = ipLiteral(new URL(url).hostname);
      expect(literal).not.toBeNull();
      expect(isPublicAddress(literal!)).toBe(false);
    }
  });
});

describe('a name is checked after it resolves', () => {
  test('localhost resolves to loopback: refused, and the error names neither the host nor its address', async () => {
    const error = await new Promise<NodeJS.ErrnoException | null>((resolve) => publicOnlyLookup('localhost', {}, (e) => resolve(e)));
    expect(error).toBeInstanceOf(PrivateAddressError);
    expect(error!.code).toBe('EPRIVATEADDRESS');
    expect(error!.message).not.toMatch(/localhost|127\.|::1/);
  });
});

describe('postWebhook to an IPv4-in-IPv6 literal', () => {
  let server: Server;
  let port: number;
  let received = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      received += 1;
      res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '::', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('[::7f00:1] and [::ffff:127.0.0.1] are never connected to', async () => {
    for (const host of ['[::7f00:1]', '[::ffff:127.0.0.1]', '[::1]']) {
      await expect(
        postWebhook(`http://${host}:${port}/hook`, {}, '{}', { timeoutMs: 1000, allowPrivateNetworks: false }),
      ).rejects.toBeInstanceOf(PrivateAddressError);
    }
    expect(received).toBe(0);
  });
});

describe('describeFailure: the reason a failed attempt records', () => {
  const errno = (code: string, message: string) => Object.assign(new Error(message), { code });
  test.each([
    [new PrivateAddressError(), false, 'address not allowed: the host has no public address'],
    // A name that does not resolve reads the same as one that resolves to a private address.
    [errno('ENOTFOUND', 'getaddrinfo ENOTFOUND redis.internal'), false, 'address not allowed: the host has no public address'],
    [errno('EAI_AGAIN', 'getaddrinfo EAI_AGAIN db.internal'), false, 'address not allowed: the host has no public address'],
    [errno('ENOTFOUND', 'getaddrinfo ENOTFOUND hooks.example'), true, 'the host name could not be resolved (ENOTFOUND)'],
    [errno('ECONNREFUSED', 'connect ECONNREFUSED 10.1.2.3:6379'), true, 'connection refused (ECONNREFUSED)'],
    [errno('ECONNRESET', 'socket hang up'), false, 'connection reset (ECONNRESET)'],
    [
      errno(
        'ERR_TLS_CERT_ALTNAME_INVALID',
        "Hostname/IP does not match certificate's altnames: Host: x. is not in the cert's altnames: DNS:internal.corp",
      ),
      false,
      'TLS handshake failed (ERR_TLS_CERT_ALTNAME_INVALID)',
    ],
    [
      Object.assign(new Error('fetch failed'), { cause: errno('EHOSTUNREACH', 'connect EHOSTUNREACH 10.0.0.1:80') }),
      false,
      'host unreachable (EHOSTUNREACH)',
    ],
    [Object.assign(new Error('x'), { name: 'TimeoutError' }), false, 'timed out after 300 ms'],
    [new Error('something about 10.0.0.7 went wrong'), false, 'connection failed'],
    [errno('odd code with 10.0.0.7', 'x'), false, 'connection failed'],
    ['a thrown string naming 127.0.0.1', false, 'connection failed'],
  ])('%p (private networks allowed: %p) -> %p', (error, allowPrivateNetworks, expected) => {
    expect(describeFailure(error, 300, allowPrivateNetworks)).toBe(expected);
  });
});
