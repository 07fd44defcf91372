// Documents: collections with their counts, and a paged list of one collection (or of all).
import { api, dbPath, isAbort } from '../api.js';
import { formatDate, formatNumber, h, replace } from '../dom.js';
import { icon } from '../icons.js';
import { pageHeader } from '../page.js';
import { href, navigate } from '../router.js';
import { emptyState, errorState, loading } from '../states.js';
import { cellValue, columnsOf, metadataOf } from '../values.js';

const PAGE_SIZE = 25;
const PREVIEW_COLUMNS = 4;

function collectionList(db, collections, total, selected) {
  const entry = (name, label, count) => h('li', {},
    h('a', { class: 'collection-link', href: href('documents', db, { collection: name }),
      'aria-current': (name ?? null) === (selected ?? null) ? 'page' : undefined },
    h('span', { class: 'cell-value' }, label), h('span', { class: 'count' }, formatNumber(count))));
  const names = Object.keys(collections).sort((a, b) => a.localeCompare(b));
  const user = names.filter((name) => !name.startsWith('@'));
  const system = names.filter((name) => name.startsWith('@'));
  return h('nav', { class: 'collections', 'aria-label': 'Collections' },
    h('ul', {}, entry(null, 'All documents', total)),
    h('p', { class: 'collections-heading' }, 'Collections'),
    user.length ? h('ul', {}, user.map((name) => entry(name, name, collections[name])))
      : h('p', { class: 'nav-hint' }, 'No collections yet.'),
    system.length > 0 && [
      h('p', { class: 'collections-heading' }, 'System'),
      h('ul', {}, system.map((name) => entry(name, name, collections[name]))),
    ]);
}

// On a narrow window the collection list turns into a drop-down above the documents.
function collectionSelect(db, collections, selected) {
  const names = Object.keys(collections).sort((a, b) => a.localeCompare(b));
  const input = h('select', { id: 'collection-select', on: { change: (event) => {
    navigate(href('documents', db, { collection: event.target.value || null }));
  } } }, h('option', { value: '' }, 'All documents'), names.map((name) => h('option', { value: name },
    `${name} (${formatNumber(collections[name])})`)));
  input.value = selected ?? '';
  return h('div', { class: 'field show-narrow' }, h('label', { for: input.id }, 'Collection'), input);
}

function documentTable(db, documents, collection) {
  const columns = collection ? columnsOf(documents, PREVIEW_COLUMNS) : [];
  return h('div', { class: 'table-wrap' }, h('table', { class: 'documents-table' },
    h('thead', {}, h('tr', {},
      h('th', {}, 'Id'),
      !collection && h('th', {}, 'Collection'),
      columns.map((column, index) => h('th', { class: index > 0 && 'hide-narrow' }, column)),
      h('th', { class: 'hide-narrow' }, 'Last modified'))),
    h('tbody', {}, documents.map((document) => {
      const metadata = metadataOf(document);
      const id = metadata['@id'];
      return h('tr', {},
        h('td', { class: 'id-cell' }, h('a', { class: 'mono', href: href('document', db, { id }) }, id)),
        !collection && h('td', {}, metadata['@collection'] ?? '—'),
        columns.map((column, index) => h('td', { class: index > 0 && 'hide-narrow' }, cellValue(document[column]))),
        h('td', { class: 'nowrap muted hide-narrow' }, formatDate(metadata['@last-modified'])));
    }))));
}

function pager(db, collection, start, count, total) {
  const first = total === 0 ? 0 : start + 1;
  const last = start + count;
  const link = (target, label, iconName, enabled) => enabled
    ? h('a', { class: 'btn btn-sm', href: href('documents', db, { collection, start: target || null }) },
      icon(iconName, { size: 14 }), label)
    : h('button', { class: 'btn btn-sm', type: 'button', disabled: true }, icon(iconName, { size: 14 }), label);
  return h('div', { class: 'pager' },
    h('span', { class: 'pager-range' }, `${formatNumber(first)}–${formatNumber(last)} of ${formatNumber(total)}`),
    h('span', { class: 'row' },
      link(Math.max(0, start - PAGE_SIZE), 'Previous', 'chevronLeft', start > 0),
      link(start + PAGE_SIZE, 'Next', 'chevronRight', last < total)));
}

export async function render({ root, db, params, signal, setTitle }) {
  const collection = params.get('collection') || null;
  const start = Math.max(0, Number.parseInt(params.get('start') ?? '0', 10) || 0);
  setTitle(collection ? `${collection} documents` : 'Documents');
  const newLink = h('a', { class: 'btn btn-primary', href: href('document', db, { new: 1, collection }) },
    icon('plus'), 'New document');
  const body = h('div', {}, loading('Loading documents…'));
  replace(root, pageHeader({ title: collection ?? 'All documents', subtitle: null, actions: [newLink],
    crumbs: [[db, href('documents', db)], ['Documents', collection ? href('documents', db) : null]] }), body);

  async function load() {
    try {
      const [stats, listing] = await Promise.all([
        api.get(dbPath(db, '/stats'), { signal }),
        api.get(dbPath(db, '/docs'), { signal, query: { collection, start, pageSize: PAGE_SIZE } }),
      ]);
      const collections = stats?.Collections ?? {};
      const total = collection ? (collections[collection] ?? 0) : (stats?.CountOfDocuments ?? 0);
      const documents = (listing?.Results ?? []).filter(Boolean);
      const list = documents.length === 0
        ? h('div', { class: 'card' }, emptyState({
          title: collection ? `No documents in ${collection}` : 'This database has no documents',
          text: collection ? 'Create one, or pick another collection.'
            : 'Create a document, or load the Northwind sample data from the Databases page.',
          action: h('a', { class: 'btn', href: href('document', db, { new: 1, collection }) }, icon('plus'),
            'New document') }))
        : h('div', { class: 'list-card' }, documentTable(db, documents, collection),
          pager(db, collection, start, documents.length, Math.max(total, start + documents.length)));
      replace(body, h('div', { class: 'split' }, collectionList(db, collections, stats?.CountOfDocuments ?? 0,
        collection), h('section', { class: 'list-section', 'aria-label': 'Documents' },
        collectionSelect(db, collections, collection), list)));
    } catch (error) {
      if (!isAbort(error)) replace(body, errorState(error, load));
    }
  }
  await load();
}
