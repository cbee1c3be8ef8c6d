import ipaddr from 'ipaddr.js';
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';

/** Why a webhook URL or the address it resolves to is refused (shown to the admin, logged per attempt). */
export class TargetRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TargetRefused';
  }
}

/** Ranges allowed besides public unicast with `WEBHOOKS_ALLOW_LOCAL=true` (development, tests). */
const LOCAL_RANGES = new Set(['loopback', 'private', 'uniqueLocal']);

/**
 * Whether a webhook may connect to this address: public unicast only (ipaddr.js `range()`), so no
 * loopback, private (10/8, 172.16/12, 192.168/16, fc00::/7), link-local (169.254.169.254, the cloud
 * metadata service), carrier-grade NAT, multicast, reserved, documentation, 6to4/Teredo/NAT64
 * (which can wrap any IPv4 address) or unspecified addresses. IPv4-mapped IPv6 is judged as its IPv4.
 */
function addressAllowed(address: string, allowLocal: boolean): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed: ipaddr.IPv4 | ipaddr.IPv6 = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress())
    parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  return range === 'unicast' || (allowLocal && LOCAL_RANGES.has(range));
}

/** A checked target: the URL and the one address the connection goes to (pinned). */
export interface ResolvedTarget {
  readonly url: URL;
  readonly address: string;
  readonly family: 4 | 6;
}

/** The URL's own checks: scheme, no credentials, a host. Throws `TargetRefused`. */
function checkUrl(raw: string, allowLocal: boolean): URL {
  if (!URL.canParse(raw)) throw new TargetRefused('Not a valid URL');
  const url = new URL(raw);
  if (url.protocol !== 'https:' && !(allowLocal && url.protocol === 'http:')) {
    throw new TargetRefused(allowLocal ? 'Use an https:// or http:// URL' : 'Use an https:// URL');
  }
  if (url.username || url.password)
    throw new TargetRefused(
      'Leave credentials out of the URL (they would be logged); put a token in the path or query instead',
    );
  if (!url.hostname) throw new TargetRefused('The URL has no host');
  return url;
}

/**
 * Resolves the URL's host and checks every address it resolves to (one private answer among public
 * ones refuses the lot: DNS answers can be mixed on purpose). Done at creation and again before
 * every delivery, because DNS may change; the connection then goes to the address checked here.
 */
export async function resolveTarget(raw: string, allowLocal: boolean): Promise<ResolvedTarget> {
  const url = checkUrl(raw, allowLocal);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const literal = isIP(host);
  let addresses: { address: string; family: number }[];
  if (literal) addresses = [{ address: host, family: literal }];
  else {
    try {
      addresses = await lookup(host, { all: true, verbatim: true });
    } catch (error) {
      throw new TargetRefused(
        `The host ${host} does not resolve (${(error as NodeJS.ErrnoException).code ?? 'DNS error'})`,
      );
    }
  }
  if (addresses.length === 0) throw new TargetRefused(`The host ${host} does not resolve`);
  const refused = addresses.find((entry) => !addressAllowed(entry.address, allowLocal));
  if (refused) {
    throw new TargetRefused(
      literal
        ? `${host} is not a public address`
        : `The host ${host} resolves to ${refused.address}, which is not a public address`,
    );
  }
  const first = addresses[0]!;
  return { url, address: first.address, family: first.family === 6 ? 6 : 4 };
}

/** The outcome of one POST: a status (any, 2xx or not) or a transport error, and how long it took. */
export interface PostResult {
  readonly statusCode: number | null;
  readonly error: string | null;
  readonly durationMs: number;
}

/**
 * One POST to a checked target: the socket connects to the pinned address (a custom `lookup`, so a
 * second DNS answer cannot swap it), TLS still verifies the certificate for the URL's host name, no
 * redirect is followed (a 3xx is a failure), the whole attempt is bounded by `timeoutMs`, and the
 * answer's body is not read (the connection is closed once the status line and headers are in).
 */
export function postTo(
  target: ResolvedTarget,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<PostResult> {
  const started = performance.now();
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all)
      (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
        { address: target.address, family: target.family },
      ]);
    else callback(null, target.address, target.family);
  };
  const send = target.url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    const finish = (statusCode: number | null, error: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ statusCode, error: error?.slice(0, 300) ?? null, durationMs: Math.round(performance.now() - started) });
    };
    const request = send(target.url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: pinned,
      agent: false,
      ...(signal ? { signal } : {}),
      maxHeaderSize: 16 * 1024,
    });
    const timer = setTimeout(() => {
      finish(null, `Timed out after ${timeoutMs} ms`);
      request.destroy();
    }, timeoutMs);
    request.on('response', (response: IncomingMessage) => {
      const status = response.statusCode ?? 0;
      finish(status, status >= 200 && status < 300 ? null : `HTTP ${status}`);
      // The body is not needed: close instead of reading whatever the receiver sends.
      response.destroy();
      request.destroy();
    });
    request.on('error', (error: Error) =>
      finish(
        null,
        error.name === 'AbortError' ? 'Stopped: the server is shutting down' : error.message || 'connection failed',
      ),
    );
    request.end(body);
  });
}
