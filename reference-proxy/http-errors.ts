/**
 * Where the gateway's errors are made and answered. Routes (and the API authentication they call)
 * throw an HttpError, naming the status, the contract's body and any header; express 5 hands what
 * an async handler throws to answerErrors, the one place errors become responses. Errors that are
 * not HttpErrors are classified there: a store that cannot be reached (StoreUnavailableError, made
 * only by the stores from their drivers' connection failures) is 503 with Retry-After; a request
 * express could not read (its body, a path parameter) keeps its 4xx; anything else is a bug: logged, answered 500 with
 * nothing internal in the body.
 */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../common/logger.ts';
import {
  type ApiErrorBody,
  apiErrorBody,
  type DetailBody,
  detailBody,
  type OAuthErrorBody,
} from '../protocol/errors.ts';
import { StoreUnavailableError } from './store-errors.ts';

/** Seconds a client is told to wait before trying again when a store cannot be reached. */
export const STORE_RETRY_AFTER_SECONDS = 5;

/**
 * An answer the contract fixes for a request that cannot go on: its status, its body (FastAPI's
 * `{"detail"}` on the CLI SSO endpoints, LiteLLM's `{"error": {...}}` on the API routes) and any
 * headers (Retry-After, Allow). Everything in it is meant for the client.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: DetailBody | ApiErrorBody | OAuthErrorBody,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(messageOf(body));
    this.name = 'HttpError';
  }
}

/** `{"detail": message}` with the given status (docs/contract.md section 2, "Error bodies"). */
export function detailError(status: number, message: string, headers?: Record<string, string>): HttpError {
  return new HttpError(status, detailBody(message), headers);
}

/** LiteLLM's `{"error": {message, type, param, code}}` for the API routes (/models, /user/info). */
export function apiError(status: number, type: string, message: string, param: string | null = null): HttpError {
  return new HttpError(status, apiErrorBody(status, type, message, param));
}

/**
 * RFC 6749 section 5.2's `{"error", "error_description"}`, for the PKCE-native login's endpoints
 * (native-login/): OAuth clients read these two fields and nothing else. No OAuth error answer is
 * cached (section 5.1 asks the same of token answers).
 */
export function oauthError(
  status: number,
  error: string,
  description: string,
  headers: Record<string, string> = {},
): HttpError {
  return new HttpError(status, { error, error_description: description }, { 'cache-control': 'no-store', ...headers });
}

function messageOf(body: DetailBody | ApiErrorBody | OAuthErrorBody): string {
  if ('detail' in body) return body.detail;
  if (typeof body.error === 'string') return (body as OAuthErrorBody).error_description ?? body.error;
  return body.error.message;
}

/**
 * The one error handler (registered last in app.ts). Headers a route set before it threw (Vary,
 * Preference-Applied, nosniff) stay on the answer.
 */
export function answerErrors(logger: Logger): ErrorRequestHandler {
  return (error: unknown, req, res, _next) => {
    // mutation-equivalent: reached only when a route throws after its answer began, which no request can
    // make a route without a bug do
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const answer = httpErrorFor(error);
    if (answer === undefined) {
      // Where it happened, for whoever fixes it; the client learns nothing of it.
      const stack =
        error instanceof Error
          ? error.stack
              ?.split('\n')
              .slice(1, 6)
              .map((l) => l.trim())
          : undefined;
      logger.error('unexpected_error', { path: req.path, error: describeError(error), stack });
      res.status(500).json(detailBody('Internal server error'));
      return;
    }
    if (error instanceof StoreUnavailableError) {
      logger.error('store_unavailable', { store: error.store, path: req.path, cause: describeError(error.cause) });
    }
    res.status(answer.status).set(answer.headers).json(answer.body);
  };
}

/** The answer an error stands for, or undefined for a bug. */
function httpErrorFor(error: unknown): HttpError | undefined {
  if (error instanceof HttpError) return error;
  if (error instanceof StoreUnavailableError) {
    return detailError(
      503,
      `Service temporarily unavailable: the ${error.store} cannot be reached. Try again shortly.`,
      { 'retry-after': String(STORE_RETRY_AFTER_SECONDS) },
    );
  }
  const status = requestErrorStatus(error);
  if (status !== undefined) {
    return detailError(status, `Bad request: ${error instanceof Error ? error.message : 'unreadable'}`);
  }
  return undefined;
}

/**
 * A request express could not read carries a 4xx `status`: body-parser's (413 too large, 415
 * charset, 400 aborted...) and the router's 400 for a path parameter that does not decode.
 */
function requestErrorStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null || !('status' in error)) return undefined;
  const status = error.status;
  return typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
