/**
 * Watches every TCP connection this process dials, for the SSRF suites, and is their safety net:
 * a connection to anything but loopback is refused by the test itself, so even a broken guard
 * could never send a packet to 10.x or 169.254.x from a test run.
 *
 * A literal address is recorded when `socket.connect` is called with it; a name once its lookup
 * answered (a lookup that the guard refuses dials nothing, and is not recorded).
 */
import dns from 'node:dns';
import net from 'node:net';

export interface DialRecorder {
  /** `address:port` of every connection attempt that went ahead, oldest first. */
  dialled: string[];
  /** Dials the safety net blocked (must stay empty: the guard refuses first). */
  blocked: string[];
  restore(): void;
}

type Lookup = (hostname: string, options: unknown, callback: (error: Error | null, address: unknown, family?: number) => void) => void;

const isLoopback = (address: string) => address.startsWith('127.') || address === '::1' || address === '::ffff:127.0.0.1';

export function installDialRecorder(): DialRecorder {
  const dialled: string[] = [];
  const blocked: string[] = [];
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const options = (Array.isArray(args[0]) ? args[0][0] : args[0]) as { host?: string; port?: number; lookup?: Lookup; path?: string } | undefined;
    if (options && typeof options === 'object' && !options.path) {
      const host = options.host ?? 'localhost';
      if (net.isIP(host)) {
        if (!isLoopback(host)) {
          blocked.push(`${host}:${options.port}`);
          throw new Error(`test safety net: refusing to dial ${host}`);
        }
        dialled.push(`${host}:${options.port}`);
      } else {
        const inner = options.lookup ?? (dns.lookup as unknown as Lookup);
        options.lookup = (hostname, lookupOptions, callback) =>
          inner(hostname, lookupOptions, (error, address, family) => {
            if (error) return callback(error, address, family);
            const addresses = Array.isArray(address) ? (address as Array<{ address: string }>).map((entry) => entry.address) : [address as string];
            const outside = addresses.filter((entry) => !isLoopback(entry));
            if (outside.length > 0) {
              blocked.push(...outside.map((entry) => `${entry}:${options.port}`));
              return callback(new Error(`test safety net: refusing to dial ${outside.join(', ')}`), '', 0);
            }
            dialled.push(...addresses.map((entry) => `${entry}:${options.port}`));
            callback(null, address, family);
          });
      }
    }
    return (original as (...rest: unknown[]) => net.Socket).apply(this, args);
  } as typeof original;
  return {
    dialled,
    blocked,
    restore() {
      net.Socket.prototype.connect = original;
    },
  };
}
