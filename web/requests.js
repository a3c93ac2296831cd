// requests.js – sends changes to the API (proposals, moderation, edits) and turns problem+json answers into friendly errors.

import { beginWork, endWork, isAbort } from './api.js';
import { language, t } from './i18n.js';

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

/** When to try again, for a Retry-After value in seconds: "in 25 minutes", "dans 2 heures", "later". */
export function waitText(seconds) {
  const s = Number(seconds);
  if (!Number.isFinite(s) || s <= 0) return t('request.later');
  const minutes = Math.ceil(s / 60);
  const [value, unit] = minutes < 90 ? [minutes, 'minute'] : [Math.round(minutes / 60), 'hour'];
  try {
    return new Intl.RelativeTimeFormat(language(), { numeric: 'always' }).format(value, unit);
  } catch (_) {
    return t('request.later');
  }
}

/** The sentence shown for a failed request, by status; the server's `detail` when nothing better fits. */
function messageFor(status, problem, retryAfter) {
  const detail = problem && typeof problem.detail === 'string' ? problem.detail : '';
  switch (status) {
    case 401:
      return t('request.token');
    case 404:
      return detail || t('request.notFound');
    case 412:
      return t('request.changed');
    case 413:
      return t('request.tooLarge');
    case 415:
      return t('request.format');
    case 429:
      return t('request.tooMany', { when: waitText(retryAfter) });
    default:
      if (status >= 500) return t('request.serverProblem', { detail: detail || String(status) });
      return detail || (problem && problem.title) || t('request.failed', { status: String(status) });
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
      throw new RequestError(t('request.unreachable'));
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
