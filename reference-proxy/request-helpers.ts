/** Small readers of an express request, shared by the routes. Nothing here trusts its input. */
import type { IncomingMessage } from 'node:http';
import { parse as parseCookieHeader } from 'cookie';
import type { Request } from 'express';
import type { ProxyConfig } from './config.ts';
import { detailError } from './http-errors.ts';

/**
 * One query parameter as a string. Repeated parameters (`?a=1&a=2`) come back as `multiple`, so a
 * route can refuse them with a 400 instead of guessing.
 */
export function queryParam(req: Request, name: string): string | undefined | { multiple: true } {
  const value: unknown = req.query[name];
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  return { multiple: true };
}

export function queryString(req: Request, name: string): string | undefined {
  const value = queryParam(req, name);
  return typeof value === 'string' ? value : undefined;
}

/**
 * The public base URL: PROXY_BASE_URL, else the request's own scheme and host. A Host header that
 * makes no URL (a client can send anything there) is the client's mistake: a 400, before a route
 * builds a link or a redirect from it.
 */
export function publicBaseUrl(req: Request, config: ProxyConfig): string {
  if (config.publicBaseUrl !== undefined) return config.publicBaseUrl;
  const host = req.get('host') ?? `${config.host}:${config.port}`;
  const base = `${req.protocol}://${host}`;
  if (!isHostAndPort(base)) {
    throw detailError(400, 'Bad request: the Host header is not a host name and port (and PROXY_BASE_URL is not set)');
  }
  return base;
}

/** `base` is a scheme and an authority only: the Host header held no path, query, fragment or user. */
function isHostAndPort(base: string): boolean {
  const authority = base.slice(base.indexOf('//') + 2);
  return URL.canParse(base) && !/[/?#@\\\s]/.test(authority);
}

/**
 * The client's IP for the start limit: the socket's peer. X-Forwarded-For is not trusted, because
 * any client could spread its starts over invented addresses.
 */
export function clientIp(req: Request): string {
  return req.socket.remoteAddress ?? 'unknown';
}

/**
 * The token of `Authorization: Bearer <token>` (scheme in any case), or undefined. Any Node.js
 * request will do, not only express's: the model list answers before express does (app.ts).
 */
export function bearerToken(req: Pick<IncomingMessage, 'headers'>): string | undefined {
  const header = req.headers.authorization;
  const match = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** One cookie from the Cookie header (RFC 6265 section 5.4), or undefined. */
export function readCookie(req: Request, name: string): string | undefined {
  return parseCookieHeader(req.get('cookie') ?? '')[name];
}
