// The Studio's only way to reach the server: the same public HTTP API the official clients use,
// with RavenDB's error envelope ({Type, Message, Error, Field?, Position?}) turned into ApiError.

export class ApiError extends Error {
  constructor(status, body, fallback) {
    super(body?.Message || body?.Error || fallback);
    this.name = 'ApiError';
    this.status = status;
    this.body = body ?? null;
    this.type = body?.Type ?? null;
    this.field = body?.Field ?? null;
    this.position = Number.isInteger(body?.Position) ? body.Position : null;
  }

  // The message without the "Field: " prefix ValidationError puts in front of it.
  get fieldMessage() {
    const prefix = `${this.field}: `;
    const text = this.field && this.message.startsWith(prefix) ? this.message.slice(prefix.length) : this.message;
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  get shortType() {
    return this.type ? this.type.split('.').pop() : null;
  }
}

export function isAbort(error) {
  return error?.name === 'AbortError';
}

export function dbPath(db, path) {
  return `/databases/${encodeURIComponent(db)}${path}`;
}

export async function call(method, path, { query, body, headers, signal } = {}) {
  const url = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    for (const item of Array.isArray(value) ? value : [value]) url.searchParams.append(key, String(item));
  }
  const init = { method, headers: { Accept: 'application/json', ...headers }, signal };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (isAbort(error)) throw error;
    throw new ApiError(0, null, `The server did not answer (${error.message}). Is rookdb running?`);
  }
  const text = response.status === 204 ? '' : await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, data, `${method} ${url.pathname} failed: HTTP ${response.status}`);
  }
  return data;
}

export const api = {
  get: (path, options) => call('GET', path, options),
  post: (path, options) => call('POST', path, options),
  put: (path, options) => call('PUT', path, options),
  delete: (path, options) => call('DELETE', path, options),
};
