// Indexes → one index: its definition (maps, reduce, fields) with compilation errors shown on the map
// or reduce they are about, its statistics and its indexing errors. Saving sends the official
// clients' IndexDefinition JSON to PUT /admin/indexes, as PutIndexesOperation does.
import { api, dbPath, isAbort } from '../api.js';
import { confirmDialog } from '../dialog.js';
import { formatDate, formatNumber, h, replace } from '../dom.js';
import { clearFieldErrors, field, focusFirstError, setFieldError, textInput } from '../forms.js';
import { icon } from '../icons.js';
import { card, pageHeader } from '../page.js';
import { href, navigate } from '../router.js';
import { emptyState, errorState, loading } from '../states.js';
import { toast } from '../toast.js';
import { deleteIndex, freshnessBadge, indexQuery, resetIndex, stateBadge } from './indexes.js';

const REFRESH_MS = 3000;
const EXAMPLE_MAP = 'from order in docs.Orders\nselect new {\n    order.Company,\n    order.Freight\n}';
// What GET /indexes adds to a definition; it is not part of what a client puts.
const LISTING_ONLY = ['IsStale', 'EntriesCount', 'LastIndexedEtag', 'ErrorsCount', 'Errors', 'Type', 'IndexType'];
const POSITION = /line (\d+), column (\d+)/;

function stat(label, value) {
  return h('div', { class: 'stat', dataset: { stat: label } },
    h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value' }, value));
}

function codeArea(value, rows) {
  return h('textarea', { class: 'code-editor', spellcheck: false, rows, value: value ?? '' });
}

// Put the caret where the compiler says the problem is.
function placeCaret(editor, message) {
  const found = POSITION.exec(message);
  if (!found) return;
  const lines = editor.value.split('\n');
  const line = Math.min(Number(found[1]), lines.length);
  const offset = lines.slice(0, line - 1).reduce((total, text) => total + text.length + 1, 0)
    + Math.min(Number(found[2]) - 1, lines[line - 1].length);
  editor.setSelectionRange(offset, Math.min(editor.value.length, offset + 1));
}

function definitionForm(db, definition, { onSaved }) {
  const isNew = definition === null;
  const name = textInput({ value: definition?.Name ?? '', readonly: !isNew, placeholder: 'Orders/ByCompany' });
  const maps = h('div', { class: 'stack-sm maps' });
  const reduce = codeArea(definition?.Reduce, 6);
  const fields = codeArea(Object.keys(definition?.Fields ?? {}).length
    ? JSON.stringify(definition.Fields, null, 2) : '', 5);
  const alertBox = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card form-stack', novalidate: true });

  function mapEditors() {
    return [...maps.querySelectorAll('textarea')];
  }

  function renumber() {
    const wrappers = [...maps.querySelectorAll('.field')];
    wrappers.forEach((wrapper, position) => {
      wrapper.dataset.field = `Maps.${position}`;
      wrapper.querySelector('label').firstChild.textContent = `Map ${position + 1}`;
      wrapper.querySelector('.remove-map').hidden = wrappers.length === 1;
    });
  }

  function addMap(text) {
    const editor = codeArea(text, 7);
    const wrapper = field({ label: 'Map', input: editor, name: 'Maps.0' });
    wrapper.append(h('button', { class: 'btn btn-sm btn-danger-quiet remove-map', type: 'button',
      on: { click: () => { wrapper.remove(); renumber(); } } }, icon('trash', { size: 14 }), 'Remove map'));
    maps.append(wrapper);
    renumber();
    return editor;
  }

  for (const text of definition?.Maps?.length ? definition.Maps : [EXAMPLE_MAP]) addMap(text);

  function showCompilationError(error) {
    const property = error.body?.IndexDefinitionProperty;
    const problematic = error.body?.ProblematicText;
    let target = null;
    if (property === 'Maps') {
      const editors = mapEditors();
      const numbered = /\(map (\d+)\)/.exec(error.message);
      const position = numbered ? Number(numbered[1]) - 1 : editors.findIndex((each) => each.value === problematic);
      target = editors[Math.max(0, Math.min(position, editors.length - 1))];
      setFieldError(form, `Maps.${editors.indexOf(target)}`, error.message);
    } else if (property === 'Reduce' || property === 'Fields') {
      target = property === 'Reduce' ? reduce : fields;
      setFieldError(form, property, error.message);
    }
    if (!target) return false;
    focusFirstError(form);
    placeCaret(target, error.message);
    return true;
  }

  async function save(event) {
    event.preventDefault();
    clearFieldErrors(form);
    alertBox.hidden = true;
    let parsedFields = {};
    if (fields.value.trim()) {
      try {
        parsedFields = JSON.parse(fields.value);
        if (parsedFields === null || typeof parsedFields !== 'object' || Array.isArray(parsedFields)) {
          throw new Error('Fields must be a JSON object of field name → options.');
        }
      } catch (error) {
        setFieldError(form, 'Fields', error.message.startsWith('Fields') ? error.message : `Invalid JSON: ${error.message}`);
        focusFirstError(form);
        return;
      }
    }
    if (!name.value.trim()) setFieldError(form, 'Name', 'Give the index a name.');
    const mapTexts = mapEditors().map((editor) => editor.value);
    mapTexts.forEach((text, position) => {
      if (!text.trim()) setFieldError(form, `Maps.${position}`, 'Write the map or remove it.');
    });
    if (form.querySelector('.field.has-error')) {
      focusFirstError(form);
      return;
    }
    const sent = { ...(definition ?? {}), Name: name.value.trim(), Maps: mapTexts,
      Reduce: reduce.value.trim() ? reduce.value : null, Fields: parsedFields };
    for (const key of LISTING_ONLY) delete sent[key];
    try {
      await api.put(dbPath(db, '/admin/indexes'), { body: { Indexes: [sent] } });
      toast(`Index '${sent.Name}' saved.`);
      onSaved(sent.Name);
    } catch (error) {
      if (isAbort(error) || showCompilationError(error)) return;
      alertBox.replaceChildren(icon('alert'), h('span', {}, error.message));
      alertBox.hidden = false;
    }
  }

  form.addEventListener('submit', save);
  replace(form,
    h('h2', { class: 'card-title' }, 'Definition'),
    field({ label: 'Name', input: name, name: 'Name' }),
    maps,
    h('div', {}, h('button', { class: 'btn btn-sm', type: 'button', on: { click: () => addMap('').focus() } },
      icon('plus', { size: 14 }), 'Add map')),
    field({ label: 'Reduce', input: reduce, name: 'Reduce', optional: true,
      hint: 'C# LINQ (from r in results group r by …) or JavaScript (groupBy(…).aggregate(…)).' }),
    field({ label: 'Fields', input: fields, name: 'Fields', optional: true,
      hint: 'A JSON object: { "Name": { "Indexing": "Search", "Storage": "Yes" } }, vector options under "Vector".' }),
    alertBox,
    h('div', { class: 'form-footer' }, h('button', { class: 'btn btn-primary', type: 'submit' }, 'Save index')));
  return form;
}

function statsView(stats) {
  const reduces = stats.ReduceAttempts !== null && stats.ReduceAttempts !== undefined;
  return h('div', { class: 'stack-sm' },
    h('div', { class: 'row' }, stateBadge(stats), freshnessBadge(stats)),
    h('div', { class: 'stat-grid' },
      stat('Entries', formatNumber(stats.EntriesCount ?? 0)),
      stat('Map attempts', formatNumber(stats.MapAttempts ?? 0)),
      stat('Map successes', formatNumber(stats.MapSuccesses ?? 0)),
      stat('Map errors', formatNumber(stats.MapErrors ?? 0)),
      reduces && stat('Reduce attempts', formatNumber(stats.ReduceAttempts)),
      reduces && stat('Reduce errors', formatNumber(stats.ReduceErrors ?? 0)),
      stat('Last indexed', stats.LastIndexingTime ? formatDate(stats.LastIndexingTime) : '—'),
      stat('Created', stats.CreatedTimestamp ? formatDate(stats.CreatedTimestamp) : '—')));
}

function errorsView(db, errors) {
  if (errors.length === 0) {
    return emptyState({ title: 'No errors', iconName: 'check', text: 'Every document was indexed.' });
  }
  return h('div', { class: 'table-wrap' }, h('table', { class: 'index-errors-table' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Document'), h('th', {}, 'Action'), h('th', {}, 'Error'), h('th', {}, 'Time'))),
    h('tbody', {}, [...errors].reverse().map((error) => h('tr', {},
      h('td', { class: 'id-cell' }, error.Document
        ? h('a', { class: 'mono', href: href('document', db, { id: error.Document }) }, error.Document) : '—'),
      h('td', { class: 'nowrap' }, error.Action ?? '—'),
      h('td', { class: 'error-message' }, error.Error),
      h('td', { class: 'nowrap muted' }, formatDate(error.Timestamp)))))));
}

export async function render({ root, db, params, signal, setTitle }) {
  const name = params.get('name');
  const crumbs = [[db, href('documents', db)], ['Indexes', href('indexes', db)]];
  const opened = (saved) => navigate(href('indexes/edit', db, { name: saved }));
  if (!name) {
    setTitle('New index');
    replace(root, pageHeader({ title: 'New index', crumbs,
      subtitle: 'Maps in C# LINQ (from doc in docs.Orders select new { … }) or JavaScript (map(\'Orders\', doc => ({ … }))).' }),
    definitionForm(db, null, { onSaved: opened }));
    return;
  }
  setTitle(name);
  replace(root, loading('Loading the index…'));
  let definition;
  try {
    const listed = await api.get(dbPath(db, '/indexes'), { query: { name }, signal });
    definition = listed?.Results?.[0] ?? null;
  } catch (error) {
    if (isAbort(error)) return;
    if (error.status !== 404) {
      replace(root, errorState(error, () => render({ root, db, params, signal, setTitle })));
      return;
    }
    definition = null;
  }
  if (!definition) {
    replace(root, pageHeader({ title: name, crumbs }), h('div', { class: 'card' }, emptyState({ title: 'No such index',
      iconName: 'alert', text: `The database has no index named '${name}'.`,
      action: h('a', { class: 'btn', href: href('indexes', db) }, 'All indexes') })));
    return;
  }
  const statsBody = h('div', {}, loading('Loading statistics…'));
  const errorsBody = h('div', {}, loading('Loading errors…'));
  const clearErrors = h('button', { class: 'btn btn-sm btn-danger-quiet', type: 'button',
    on: { click: async () => {
      const done = await confirmDialog({ title: `Delete the errors of '${name}'?`, confirmLabel: 'Delete errors',
        message: 'The list is cleared; the documents are indexed again only when they change.',
        action: () => api.delete(dbPath(db, '/indexes/errors'), { query: { name } }) });
      if (done) refresh();
    } } }, icon('trash', { size: 14 }), 'Delete errors');
  const actions = [
    h('a', { class: 'btn', href: href('query', db, { query: indexQuery(name) }) }, icon('query', { size: 14 }), 'Query'),
    h('button', { class: 'btn', type: 'button', on: { click: async () => { if (await resetIndex(db, name)) refresh(); } } },
      icon('refresh', { size: 14 }), 'Reset'),
    h('button', { class: 'btn btn-danger-quiet', type: 'button',
      on: { click: async () => { if (await deleteIndex(db, name)) navigate(href('indexes', db)); } } },
    icon('trash', { size: 14 }), 'Delete'),
  ];
  const errorsCard = card('Errors', h('div', { class: 'toolbar' }, h('span', { class: 'spacer' }), clearErrors), errorsBody);
  errorsCard.id = 'errors';
  replace(root, pageHeader({ title: name, crumbs, actions, subtitle: definition.Type }),
    card('Statistics', statsBody),
    definitionForm(db, definition, { onSaved: opened }),
    errorsCard);
  if (params.get('section') === 'errors') errorsCard.scrollIntoView();

  async function refresh() {
    try {
      const [stats, errors] = await Promise.all([
        api.get(dbPath(db, '/indexes/stats'), { query: { name }, signal }),
        api.get(dbPath(db, '/indexes/errors'), { query: { name }, signal }),
      ]);
      const listed = errors?.Results?.[0]?.Errors ?? [];
      replace(statsBody, statsView(stats?.Results?.[0] ?? {}));
      replace(errorsBody, errorsView(db, listed));
      clearErrors.disabled = listed.length === 0;
    } catch (error) {
      if (!isAbort(error)) replace(statsBody, errorState(error, refresh));
    }
  }
  await refresh();
  const timer = window.setInterval(refresh, REFRESH_MS);
  signal.addEventListener('abort', () => window.clearInterval(timer));
}
