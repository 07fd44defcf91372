// Query: an RQL editor (Ctrl+Enter runs), parameters as JSON, results as a table with the score
// of vector and full-text matches, and the server's error message with its position.
import { api, dbPath, isAbort } from '../api.js';
import { formatNumber, h, replace } from '../dom.js';
import { field, setFieldError } from '../forms.js';
import { icon } from '../icons.js';
import { pageHeader } from '../page.js';
import { href } from '../router.js';
import { emptyState } from '../states.js';
import { cellValue, columnsOf, metadataOf } from '../values.js';

const PAGE_SIZE = 50;
const MAX_COLUMNS = 12;
const STORAGE_KEY = 'rookdb.studio.query.';

function savedQuery(db) {
  try {
    return JSON.parse(window.localStorage.getItem(STORAGE_KEY + db) ?? 'null');
  } catch {
    return null;
  }
}

function lineAndColumn(text, position) {
  const before = text.slice(0, position);
  const lines = before.split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

function errorBlock(error, text, editor) {
  const parts = [h('strong', {}, error.shortType ? `Query failed (${error.shortType})` : 'Query failed'),
    h('pre', { class: 'query-error-message' }, error.message)];
  if (error.position !== null && error.position <= text.length) {
    const { line, column } = lineAndColumn(text, error.position);
    const lineText = text.split('\n')[line - 1];
    // The server usually quotes the line with a caret already; draw one only when it did not.
    if (!error.message.includes('\n')) {
      parts.push(h('span', { class: 'muted' }, `At line ${line}, column ${column}:`),
        h('pre', { class: 'error-snippet', 'aria-hidden': 'true' }, `${lineText}\n${' '.repeat(column - 1)}^`));
    }
    // Put the caret where the server says the problem is, so the user can fix it right away.
    editor.setSelectionRange(error.position, Math.min(text.length, error.position + 1));
  }
  return h('div', { class: 'alert alert-error query-error', role: 'alert' }, icon('alert'),
    h('div', { class: 'alert-body' }, parts));
}

function resultsTable(db, results) {
  const withScore = results.some((item) => metadataOf(item)['@index-score'] !== undefined);
  const withId = results.some((item) => metadataOf(item)['@id'] !== undefined);
  const columns = columnsOf(results, MAX_COLUMNS);
  return h('div', { class: 'table-wrap' }, h('table', { class: 'results-table' },
    h('thead', {}, h('tr', {},
      withId && h('th', {}, 'Id'),
      withScore && h('th', { class: 'num' }, 'Score'),
      columns.map((column) => h('th', {}, column)))),
    h('tbody', {}, results.map((item) => {
      const metadata = metadataOf(item);
      const score = metadata['@index-score'];
      return h('tr', {},
        withId && h('td', { class: 'id-cell' }, metadata['@id']
          ? h('a', { class: 'mono', href: href('document', db, { id: metadata['@id'] }) }, metadata['@id']) : ''),
        withScore && h('td', { class: 'num score' }, typeof score === 'number' ? score.toFixed(4) : ''),
        columns.map((column) => h('td', {}, cellValue(item?.[column]))));
    }))));
}

export async function render({ root, db, params, signal, setTitle }) {
  setTitle('Query');
  // A link from another page (an index's "Query") brings its query along.
  const linked = params.get('query');
  const saved = linked ? { query: linked, parameters: '' } : savedQuery(db);
  const editor = h('textarea', { class: 'code-editor query-editor', id: 'rql', spellcheck: false, rows: 6,
    placeholder: 'from Products where PricePerUnit > 20', value: saved?.query ?? '' });
  const parameters = h('textarea', { class: 'code-editor params-editor', id: 'query-parameters', spellcheck: false,
    rows: 3, placeholder: '{ "q": "italian food" }', value: saved?.parameters ?? '' });
  const runButton = h('button', { class: 'btn btn-primary', type: 'submit' }, icon('play', { size: 14 }), 'Run',
    h('span', { class: 'kbd' }, 'Ctrl+Enter'));
  const stats = h('div', { class: 'query-stats', role: 'status' });
  const output = h('div', { class: 'query-output' },
    emptyState({ title: 'Run a query to see its results', iconName: 'query',
      text: 'Write RQL such as  from Products where Discontinued = false  and press Ctrl+Enter.' }));
  let start = 0;

  const form = h('form', { class: 'card', novalidate: true, on: { submit: (event) => {
    event.preventDefault();
    start = 0;
    run();
  } } },
  h('div', { class: 'query-grid' },
    field({ label: 'RQL', input: editor, name: 'Query', hint: 'Ctrl+Enter runs the query.' }),
    field({ label: 'Parameters', input: parameters, name: 'QueryParameters', optional: true,
      hint: 'A JSON object; use its keys as $name in the query.' })),
  h('div', { class: 'toolbar' }, runButton, h('span', { class: 'spacer' }), stats));

  for (const input of [editor, parameters]) {
    input.addEventListener('keydown', (event) => {
      if ((event.ctrlKey || event.metaKey) && event.key === 'Enter') {
        event.preventDefault();
        form.requestSubmit();
      }
    });
  }

  function pagerFor(total, count) {
    if (total <= PAGE_SIZE) return null;
    const go = (target) => () => {
      start = target;
      run();
    };
    return h('div', { class: 'pager' },
      h('span', {}, `${formatNumber(start + 1)}–${formatNumber(start + count)} of ${formatNumber(total)}`),
      h('span', { class: 'row' },
        h('button', { class: 'btn btn-sm', type: 'button', disabled: start === 0, on: { click: go(Math.max(0, start - PAGE_SIZE)) } },
          icon('chevronLeft', { size: 14 }), 'Previous'),
        h('button', { class: 'btn btn-sm', type: 'button', disabled: start + count >= total, on: { click: go(start + PAGE_SIZE) } },
          icon('chevronRight', { size: 14 }), 'Next')));
  }

  async function run() {
    const text = editor.value;
    setFieldError(form, 'Query', text.trim() ? '' : 'Write a query first.');
    let queryParameters = {};
    const rawParameters = parameters.value.trim();
    if (rawParameters) {
      try {
        queryParameters = JSON.parse(rawParameters);
        if (queryParameters === null || typeof queryParameters !== 'object' || Array.isArray(queryParameters)) {
          throw new Error('Parameters must be a JSON object.');
        }
        setFieldError(form, 'QueryParameters', '');
      } catch (error) {
        setFieldError(form, 'QueryParameters', error.message.startsWith('Parameters') ? error.message
          : `Invalid JSON: ${error.message}`);
        parameters.focus();
        return;
      }
    } else {
      setFieldError(form, 'QueryParameters', '');
    }
    if (!text.trim()) {
      editor.focus();
      return;
    }
    window.localStorage.setItem(STORAGE_KEY + db, JSON.stringify({ query: text, parameters: parameters.value }));
    runButton.disabled = true;
    replace(stats, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Running…');
    try {
      const result = await api.post(dbPath(db, '/queries'), { signal,
        body: { Query: text, QueryParameters: queryParameters, Start: start, PageSize: PAGE_SIZE } });
      const results = result?.Results ?? [];
      const total = result?.TotalResults ?? results.length;
      replace(stats,
        h('span', {}, h('strong', { class: 'total-results' }, formatNumber(total)), total === 1 ? ' result' : ' results'),
        h('span', {}, h('strong', {}, `${formatNumber(result?.DurationInMs ?? 0)} ms`)),
        result?.IndexName && h('span', {}, 'Index ', h('strong', { class: 'index-name mono' }, result.IndexName)),
        result?.IsStale && h('span', { class: 'badge badge-warning' }, 'Stale'));
      replace(output, results.length === 0
        ? h('div', { class: 'card' }, emptyState({ title: 'No results', iconName: 'query',
          text: 'The query ran fine but matched nothing.' }))
        : h('div', { class: 'list-card' }, resultsTable(db, results), pagerFor(total, results.length)));
    } catch (error) {
      if (isAbort(error)) return;
      replace(stats);
      replace(output, errorBlock(error, text, editor));
      editor.focus();
    } finally {
      runButton.disabled = false;
    }
  }

  replace(root, pageHeader({ title: 'Query', crumbs: [[db, href('documents', db)]] }), form, output);
  editor.focus({ preventScroll: true });
  if (linked) run();
}
