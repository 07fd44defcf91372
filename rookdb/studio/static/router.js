// Hash routes: "#/db/<database>/<page>?<params>". The table maps each route to its page module,
// loaded on first visit, and to the navigation entry it highlights.

const ROUTES = [
  { path: 'databases', section: 'databases', load: () => import('./pages/databases.js') },
  { path: 'db/:db/documents', section: 'documents', load: () => import('./pages/documents.js') },
  { path: 'db/:db/document', section: 'documents', load: () => import('./pages/document.js') },
  { path: 'db/:db/query', section: 'query', load: () => import('./pages/query.js') },
  { path: 'db/:db/indexes', section: 'indexes', load: () => import('./pages/indexes.js') },
  { path: 'db/:db/indexes/new', section: 'indexes', load: () => import('./pages/index.js') },
  { path: 'db/:db/indexes/edit', section: 'indexes', load: () => import('./pages/index.js') },
  { path: 'db/:db/ai/connection-strings', section: 'ai-connection-strings',
    load: () => import('./pages/connection-strings.js') },
  { path: 'db/:db/ai/tasks', section: 'ai-tasks', load: () => import('./pages/ai-tasks.js') },
  { path: 'db/:db/ai/tasks/new', section: 'ai-tasks', load: () => import('./pages/ai-task-form.js') },
  { path: 'db/:db/ai/tasks/edit', section: 'ai-tasks', load: () => import('./pages/ai-task-form.js') },
  { path: 'db/:db/ai/stats', section: 'ai-stats', load: () => import('./pages/ai-stats.js') },
  { path: 'db/:db/ai/errors', section: 'ai-errors', load: () => import('./pages/ai-errors.js') },
];

// Where each database section lives; the navigation and the database switcher build links from it.
export const SECTION_PATHS = {
  documents: 'documents',
  query: 'query',
  indexes: 'indexes',
  'ai-connection-strings': 'ai/connection-strings',
  'ai-tasks': 'ai/tasks',
  'ai-stats': 'ai/stats',
  'ai-errors': 'ai/errors',
};

export function href(path, db, params) {
  const base = db === undefined ? `#/${path}` : `#/db/${encodeURIComponent(db)}/${path}`;
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params ?? {})) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const query = search.toString();
  return query ? `${base}?${query}` : base;
}

export function navigate(target) {
  if (window.location.hash === target) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else window.location.hash = target;
}

export function resolve(hash) {
  const raw = hash.replace(/^#\/?/, '');
  const [pathPart, queryPart = ''] = raw.split('?');
  const segments = pathPart.split('/').filter(Boolean).map((part) => {
    try {
      return decodeURIComponent(part);
    } catch {
      return part;
    }
  });
  const params = new URLSearchParams(queryPart);
  if (segments.length === 0) return { route: ROUTES[0], db: undefined, params };
  for (const route of ROUTES) {
    const pattern = route.path.split('/');
    if (pattern.length !== segments.length) continue;
    let db;
    const matches = pattern.every((part, index) => {
      if (part === ':db') {
        db = segments[index];
        return true;
      }
      return part === segments[index];
    });
    if (matches) return { route, db, params };
  }
  return { route: null, db: undefined, params };
}
