import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import { formatAddress, parseAddress } from './ip-address.js';

/**
 * The address a request counts against for per-client limits: the socket's peer address, or, behind
 * one trusted reverse proxy (`GATEHOUSE_TRUST_PROXY=true`), the last `X-Forwarded-For` entry (the one
 * that proxy appended; earlier entries are whatever the client sent and are never trusted).
 * IPv4-mapped IPv6 counts as IPv4; IPv6 counts per /64, since one client usually holds a whole /64.
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  let candidate = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming?.socket?.remoteAddress;
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',').map((entry) => entry.trim()).filter(Boolean).pop();
    if (forwarded && parseAddress(forwarded)) candidate = forwarded;
  }
  const address = candidate ? parseAddress(candidate) : undefined;
  if (!address) return 'unknown';
  if (address.family === 6 && address.value >> 32n === 0xffffn) return formatAddress({ family: 4, value: address.value & 0xffffffffn });
  if (address.family === 6) return `${formatAddress({ family: 6, value: (address.value >> 64n) << 64n })}/64`;
  return formatAddress(address);
}
