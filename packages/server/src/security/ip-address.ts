/**
 * IP address parsing and classification for the outbound guard: which addresses are not the public
 * internet (loopback, private, link-local, metadata, CGNAT, multicast, reserved, documentation …),
 * following the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890 and its updates). IPv6
 * forms that embed an IPv4 address (IPv4-mapped `::ffff:a.b.c.d`, IPv4-translated `::ffff:0:a.b.c.d`,
 * NAT64 `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address inside them, so
 * `::ffff:127.0.0.1` and `::ffff:0:127.0.0.1` are loopback. Teredo (`2001::/32`) also carries IPv4
 * addresses, but the whole of `2001::/23` is refused, so it needs no unpacking.
 *
 * @module
 */
import { isIPv4, isIPv6 } from 'node:net';

/** A parsed address: IPv4 as a 32-bit value, IPv6 as a 128-bit value. */
export type ParsedAddress = { family: 4; value: bigint } | { family: 6; value: bigint };

/** A network: an address and a prefix length. */
export interface Cidr {
  family: 4 | 6;
  network: bigint;
  prefix: number;
}

/** Parses a textual IPv4 or IPv6 address (brackets and a `%zone` suffix are tolerated); undefined if it is none. */
export function parseAddress(text: string): ParsedAddress | undefined {
  let address = text.trim();
  if (address.startsWith('[') && address.endsWith(']')) address = address.slice(1, -1);
  const zone = address.indexOf('%');
  if (zone >= 0) address = address.slice(0, zone);
  if (isIPv4(address)) return { family: 4, value: ipv4Value(address) };
  if (isIPv6(address)) return { family: 6, value: ipv6Value(address) };
  return undefined;
}

function ipv4Value(address: string): bigint {
  return address.split('.').reduce((value, octet) => (value << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6Value(address: string): bigint {
  let text = address;
  // A trailing dotted IPv4 part (`::ffff:1.2.3.4`) becomes two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipv4Value(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const missing = 8 - headGroups.length - tailGroups.length;
  const groups = tail === undefined ? headGroups : [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  return groups.reduce((value, group) => (value << 16n) | BigInt(parseInt(group, 16)), 0n);
}

/** Formats a parsed address back to text; IPv6 in the RFC 5952 form (`::1`, `::ffff:7f00:1`). */
export function formatAddress(address: ParsedAddress): string {
  if (address.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((address.value >> shift) & 0xffn)).join('.');
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((address.value >> shift) & 0xffffn));
  // The longest run of two or more zero groups (the first of equal ones) becomes `::`.
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; start++) {
    let length = 0;
    while (start + length < 8 && groups[start + length] === 0) length++;
    if (length > bestLength) {
      bestStart = start;
      bestLength = length;
    }
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** Parses `10.0.0.0/8`, `fd00::/8` or a bare address (a /32 or /128); undefined if it is neither. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const address = parseAddress(slash >= 0 ? text.slice(0, slash) : text);
  if (!address) return undefined;
  const bits = address.family === 4 ? 32 : 128;
  const prefixText = slash >= 0 ? text.slice(slash + 1) : String(bits);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  return { family: address.family, network: address.value & mask(bits, prefix), prefix };
}

function mask(bits: number, prefix: number): bigint {
  const all = (1n << BigInt(bits)) - 1n;
  return prefix === 0 ? 0n : (all >> BigInt(bits - prefix)) << BigInt(bits - prefix);
}

/** True when `address` lies in `cidr` (an IPv4-mapped IPv6 address also matches IPv4 networks). */
export function cidrContains(cidr: Cidr, address: ParsedAddress): boolean {
  const candidates = [address];
  const embedded = ipv4MappedPart(address);
  if (embedded) candidates.push(embedded);
  return candidates.some((candidate) => {
    if (candidate.family !== cidr.family) return false;
    const bits = candidate.family === 4 ? 32 : 128;
    return (candidate.value & mask(bits, cidr.prefix)) === cidr.network;
  });
}

/** The IPv4 address of an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), else undefined. */
function ipv4MappedPart(address: ParsedAddress): ParsedAddress | undefined {
  if (address.family !== 6 || address.value >> 32n !== 0xffffn) return undefined;
  return { family: 4, value: address.value & 0xffffffffn };
}

interface SpecialRange {
  cidr: Cidr;
  reason: string;
  /** Judge by the IPv4 address embedded at this bit offset (from the least significant bit) instead. */
  embeddedIpv4Shift?: bigint;
}

function range(text: string, reason: string, embeddedIpv4Shift?: bigint): SpecialRange {
  return { cidr: parseCidr(text)!, reason, ...(embeddedIpv4Shift !== undefined ? { embeddedIpv4Shift } : {}) };
}

// Most specific first where ranges nest, so the reason is the precise one.
const SPECIAL_IPV4: SpecialRange[] = [
  range('169.254.169.254/32', 'a cloud metadata address'),
  range('0.0.0.0/8', 'an unspecified ("this network") address'),
  range('10.0.0.0/8', 'a private address'),
  range('100.64.0.0/10', 'a carrier-grade NAT (shared) address'),
  range('127.0.0.0/8', 'a loopback address'),
  range('169.254.0.0/16', 'a link-local address'),
  range('172.16.0.0/12', 'a private address'),
  range('192.0.0.0/24', 'an IETF protocol assignment address'),
  range('192.0.2.0/24', 'a documentation address'),
  range('192.88.99.0/24', 'a 6to4 relay anycast address'),
  range('192.168.0.0/16', 'a private address'),
  range('198.18.0.0/15', 'a benchmarking address'),
  range('198.51.100.0/24', 'a documentation address'),
  range('203.0.113.0/24', 'a documentation address'),
  range('224.0.0.0/4', 'a multicast address'),
  range('240.0.0.0/4', 'a reserved address'),
];

const SPECIAL_IPV6: SpecialRange[] = [
  range('::/128', 'an unspecified address'),
  range('::1/128', 'a loopback address'),
  range('::ffff:0:0/96', 'an IPv4-mapped address', 0n),
  // SIIT's IPv4-translated form (RFC 2765 §2.1, not in the registry but still routed to the IPv4
  // address by translators): `::ffff:0:127.0.0.1` must not pass for public.
  range('::ffff:0:0:0/96', 'an IPv4-translated address', 0n),
  range('::/96', 'a deprecated IPv4-compatible address'),
  range('64:ff9b::/96', 'a NAT64 address', 0n),
  range('64:ff9b:1::/48', 'a local-use NAT64 address'),
  range('100::/64', 'a discard-only address'),
  range('2001::/23', 'an IETF protocol assignment address (Teredo, ORCHID …)'),
  range('2001:db8::/32', 'a documentation address'),
  range('2002::/16', 'a 6to4 address', 80n),
  range('3fff::/20', 'a documentation address'),
  range('5f00::/16', 'a segment routing (SRv6) address'),
  range('fc00::/7', 'a private (unique local) address'),
  range('fe80::/10', 'a link-local address'),
  range('fec0::/10', 'a deprecated site-local address'),
  range('ff00::/8', 'a multicast address'),
];

/**
 * Why `address` is not a public internet address (e.g. "a loopback address"), or undefined when it
 * is public. IPv6 forms that carry an IPv4 address are judged by that address.
 */
export function specialAddressReason(address: ParsedAddress): string | undefined {
  const table = address.family === 4 ? SPECIAL_IPV4 : SPECIAL_IPV6;
  for (const entry of table) {
    if (!cidrContains(entry.cidr, address) || address.family !== entry.cidr.family) continue;
    if (entry.embeddedIpv4Shift === undefined) return entry.reason;
    const embedded: ParsedAddress = { family: 4, value: (address.value >> entry.embeddedIpv4Shift) & 0xffffffffn };
    const inner = specialAddressReason(embedded);
    return inner ? `${entry.reason} of ${inner}` : undefined;
  }
  return undefined;
}
