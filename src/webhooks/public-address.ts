// Webhook URLs are chosen by tenants, so a delivery must never reach the platform's own network
// (the metadata service, the database, Redis, other tenants' workers): unless the operator
// allows private networks, a delivery connects only to public unicast addresses. The check is
// made on the address actually connected to (a DNS lookup hook), so a name that resolves to a
// private address, or changes its answer between checks (DNS rebinding), is refused too.
import { lookup as dnsLookup, type LookupAddress, type LookupOneOptions, type LookupAllOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** 2000::/3: the only IPv6 block the internet routes as global unicast. */
const GLOBAL_UNICAST_IPV6: [ipaddr.IPv6, number] = [ipaddr.IPv6.parse('2000::'), 3];

/**
 * True for a public unicast address: IPv4 outside loopback, private, link-local, CGNAT,
 * reserved, ...; IPv6 only inside 2000::/3 and outside its special blocks (documentation,
 * 6to4, Teredo, ...). IPv6 forms that carry an IPv4 address (::ffff:a.b.c.d mapped,
 * ::a.b.c.d compatible, NAT64) are refused whatever the IPv4 address: a host or a gateway
 * may route them to the IPv4 address inside, loopback included.
 */
export function isPublicAddress(address: string): boolean {
  // Only the canonical forms (node:net's): ipaddr.js would also read '1.2.3' or '0x7f.1'.
  if (isIP(address) === 0 || !ipaddr.isValid(address)) return false;
  const parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv4') return parsed.range() === 'unicast';
  const ipv6 = parsed as ipaddr.IPv6;
  return ipv6.match(GLOBAL_UNICAST_IPV6) && ipv6.range() === 'unicast';
}

/** The URL host as an IP address when it is an IP literal ("[::1]" -> "::1"), else null. */
export function ipLiteral(hostname: string): string | null {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return ipaddr.isValid(bare) && (bare.includes(':') || ipaddr.IPv4.isValidFourPartDecimal(bare)) ? bare : null;
}

/**
 * A host that is, or resolves to, an address that is not public. Its message names neither the
 * address nor the host: it reaches the tenant (a delivery's lastError), who must not learn how
 * names resolve inside the platform's network.
 */
export class PrivateAddressError extends Error {
  readonly code = 'EPRIVATEADDRESS';
  constructor() {
    super('address not allowed: the host has no public address');
    this.name = 'PrivateAddressError';
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http.request/net.connect that fails when any address of the name is not public. */
export function publicOnlyLookup(hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused) return callback(new PrivateAddressError(), '');
    if ((options as LookupAllOptions).all) return callback(null, addresses);
    const first = addresses[0]!;
    callback(null, first.address, first.family);
  });
}
