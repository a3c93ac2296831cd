// requests.js – sends changes to the API (proposals, moderation, edits) and turns problem+json answers into friendly errors.

import { beginWork, endWork, isAbort } from './api.js';

/** A failed request: `status` (0 when the server was unreachable), the problem document and its field `errors`. */
export class RequestError extends Error {
  constructor(message, { status = 0, problem = null, retryAfter = null } = {}) {
    super(message);
    this.name = 'RequestError';
    this.status = status;
    this.problem = problem;
    this.retryAfter = retryAfter;
    const errors = problem && Array.isArray(problem.errors) ? problem.errors : [];
    this.errors = errors
      .filter((e) => e && typeof e === 'object')
      .map((e) => ({ field: String(e.field ?? ''), message: String(e.message ?? '') }));
    if (!this.errors.length && problem && typeof problem.parameter === 'string') {
      this.errors = [{ field: problem.parameter, message: String(problem.detail ?? problem.title ?? '') }];
    }
  }
}

/** "a minute", "5 minutes", "2 hours" for a Retry-After value in seconds. */
export function waitText(seconds) {
  const s = Number(seconds);
  if (!Number.isFinite(s) || s <= 0) return 'a while';
  if (s <= 60) return 'a minute';
  const minutes = Math.ceil(s / 60);
  if (minutes < 90) return `${minutes} minutes`;
  const hours = Math.round(minutes / 60);
  return hours === 1 ? 'an hour' : `${hours} hours`;
}

/** The sentence shown for a failed request, by status; the server's `detail` when nothing better fits. */
function messageFor(status, problem, retryAfter) {
  const detail = problem && typeof problem.detail === 'string' ? problem.detail : '';
  switch (status) {
    case 401:
      return 'The server did not accept the curator token.';
    case 404:
      return detail || 'Not found.';
    case 412:
      return 'Someone else changed this initiative since you opened it. Reload it to see the current version, then make your changes again.';
    case 413:
      return 'This is too large for the server. Please shorten the description.';
    case 415:
      return 'The server did not accept the format of the request. Please reload the page and try again.';
    case 429:
      return `Too many proposals have been sent from your address in a short time. Please try again in ${waitText(retryAfter)}.`;
    default:
      if (status >= 500) return `The server had a problem (${detail || status}). Please try again later.`;
      return detail || (problem && problem.title) || `The request failed (HTTP ${status}).`;
  }
}

/**
 * Sends a request to the same origin and reads the JSON answer.
 * Options: `body` (object or string), `contentType`, `token` (curator bearer token), `ifMatch`, `signal`.
 * Resolves to {status, data, etag, location}; rejects with a RequestError.
 */
export async function send(method, path, { body, contentType = 'application/json', token, ifMatch, signal } = {}) {
  const headers = { Accept: 'application/json, application/geo+json, application/problem+json' };
  if (body !== undefined) headers['Content-Type'] = contentType;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (ifMatch) headers['If-Match'] = ifMatch;
  beginWork();
  try {
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
        signal,
        cache: 'no-store',
        credentials: 'same-origin',
        redirect: 'error',
      });
    } catch (err) {
      if (isAbort(err)) throw err;
      throw new RequestError('The server could not be reached. Check your connection and try again.');
    }
    let data = null;
    const text = await response.text();
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_) {
        data = null;
      }
    }
    if (!response.ok) {
      const retryAfter = response.headers.get('Retry-After');
      const problem = data && typeof data === 'object' ? data : null;
      throw new RequestError(messageFor(response.status, problem, retryAfter), {
        status: response.status,
        problem,
        retryAfter,
      });
    }
    return {
      status: response.status,
      data,
      etag: response.headers.get('ETag'),
      location: response.headers.get('Location'),
    };
  } finally {
    endWork();
  }
}
