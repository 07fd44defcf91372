// Indexes: every index of the database (static and auto) with its state, staleness, entries and
// errors, refreshed while the page is open; query, reset and delete from the list.
import { api, call, dbPath, isAbort } from '../api.js';
import { confirmDialog } from '../dialog.js';
import { formatNumber, h, replace } from '../dom.js';
import { icon } from '../icons.js';
import { pageHeader } from '../page.js';
import { href } from '../router.js';
import { emptyState, errorState, loading } from '../states.js';
import { toast } from '../toast.js';

const REFRESH_MS = 3000;

export function indexQuery(name) {
  return `from index '${name.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

export function stateBadge(index) {
  if (index.State === 'Disabled') return h('span', { class: 'badge badge-warning' }, 'Disabled');
  if (index.State === 'Error') return h('span', { class: 'badge badge-danger' }, 'Error');
  return h('span', { class: 'badge badge-success' }, index.State || 'Normal');
}

export function freshnessBadge(index) {
  return index.IsStale ? h('span', { class: 'badge badge-warning' }, 'Stale')
    : h('span', { class: 'badge badge-accent' }, 'Up to date');
}

// Reset rebuilds the index from scratch; delete drops it (an auto-index comes back on its next query).
export async function resetIndex(db, name) {
  const done = await confirmDialog({ title: `Reset index '${name}'?`,
    message: 'Its entries are dropped and it is built again from every document.', confirmLabel: 'Reset index',
    action: () => call('RESET', dbPath(db, '/indexes'), { query: { name } }) });
  if (done) toast(`Index '${name}' is being rebuilt.`);
  return done;
}

export async function deleteIndex(db, name) {
  const done = await confirmDialog({ title: `Delete index '${name}'?`,
    message: 'The index and its entries are deleted; documents are not touched.', confirmLabel: 'Delete index',
    action: () => api.delete(dbPath(db, '/indexes'), { query: { name } }) });
  if (done) toast(`Index '${name}' deleted.`);
  return done;
}

export async function render({ root, db, signal, setTitle }) {
  setTitle('Indexes');
  const body = h('div', {}, loading('Loading indexes…'));
  const addLink = h('a', { class: 'btn btn-primary', href: href('indexes/new', db) }, icon('plus'), 'New index');
  replace(root, pageHeader({ title: 'Indexes', actions: [addLink],
    subtitle: 'Static indexes defined by applications and the Studio, and the auto-indexes queries create.',
    crumbs: [[db, href('documents', db)]] }), body);

  function row(index) {
    const name = index.Name;
    const page = href('indexes/edit', db, { name });
    return h('tr', { dataset: { index: name } },
      h('td', {}, h('a', { href: page }, h('strong', {}, name))),
      h('td', { class: 'hide-narrow' }, index.Type),
      h('td', { class: 'state-cell' }, stateBadge(index)),
      h('td', { class: 'freshness-cell' }, freshnessBadge(index)),
      h('td', { class: 'num entries-cell' }, formatNumber(index.EntriesCount ?? 0)),
      h('td', { class: 'num errors-cell' }, index.ErrorsCount
        ? h('a', { class: 'badge badge-danger', href: href('indexes/edit', db, { name, section: 'errors' }) },
          formatNumber(index.ErrorsCount))
        : '0'),
      h('td', { class: 'actions' },
        h('a', { class: 'btn btn-sm', href: href('query', db, { query: indexQuery(name) }),
          'aria-label': `Query ${name}` }, icon('query', { size: 14 }), 'Query'),
        h('button', { class: 'btn btn-sm', type: 'button', 'aria-label': `Reset ${name}`,
          on: { click: async () => { if (await resetIndex(db, name)) load(); } } }, icon('refresh', { size: 14 }), 'Reset'),
        h('button', { class: 'btn btn-sm btn-danger-quiet', type: 'button', 'aria-label': `Delete ${name}`,
          on: { click: async () => { if (await deleteIndex(db, name)) load(); } } }, icon('trash', { size: 14 }), 'Delete')));
  }

  async function load() {
    try {
      const result = await api.get(dbPath(db, '/indexes'), { signal });
      const indexes = (result?.Results ?? []).sort((a, b) => a.Name.localeCompare(b.Name));
      if (indexes.length === 0) {
        replace(body, h('div', { class: 'card' }, emptyState({ title: 'No indexes yet', iconName: 'query',
          text: 'Queries create auto-indexes; a static index is defined by its maps (C# LINQ or JavaScript).',
          action: h('a', { class: 'btn btn-primary', href: href('indexes/new', db) }, icon('plus'), 'New index') })));
        return;
      }
      replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'indexes-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Index'), h('th', { class: 'hide-narrow' }, 'Type'), h('th', {}, 'State'),
          h('th', {}, 'Freshness'), h('th', { class: 'num' }, 'Entries'), h('th', { class: 'num' }, 'Errors'),
          h('th', { class: 'actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
        h('tbody', {}, indexes.map(row)))));
    } catch (error) {
      if (!isAbort(error)) replace(body, errorState(error, load));
    }
  }

  await load();
  const timer = window.setInterval(() => {
    // A refresh never replaces the table under an open dialog.
    if (!document.querySelector('dialog[open]')) load();
  }, REFRESH_MS);
  signal.addEventListener('abort', () => window.clearInterval(timer));
}
