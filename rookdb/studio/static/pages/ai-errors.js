// AI Hub → Errors: what the embeddings tasks failed on (per item or per batch), with delete.
import { api, dbPath, isAbort } from '../api.js';
import { confirmDialog } from '../dialog.js';
import { formatDate, formatNumber, h, replace } from '../dom.js';
import { icon } from '../icons.js';
import { pageHeader } from '../page.js';
import { href } from '../router.js';
import { emptyState, errorState, loading } from '../states.js';
import { toast } from '../toast.js';

const REFRESH_MS = 5000;

export async function render({ root, db, params, signal, setTitle }) {
  setTitle('AI Task Errors');
  let taskFilter = params.get('task') ?? '';
  const filter = h('select', { id: 'error-task-filter' });
  const refresh = h('button', { class: 'btn', type: 'button', on: { click: () => load() } }, icon('refresh', { size: 14 }), 'Refresh');
  const clear = h('button', { class: 'btn btn-danger-quiet', type: 'button', on: { click: () => clearErrors() } },
    icon('trash', { size: 14 }), 'Delete errors');
  const body = h('div', {}, loading('Loading errors…'));
  filter.addEventListener('change', () => {
    taskFilter = filter.value;
    load();
  });
  replace(root, pageHeader({ title: 'AI Task Errors', actions: [refresh, clear],
    subtitle: 'Item errors skip one document; process errors fail a whole batch. The task retries on its own.',
    crumbs: [[db, href('documents', db)], ['AI Hub', null]] }),
  h('div', { class: 'toolbar' }, h('label', { for: filter.id, class: 'muted' }, 'Task'), filter), body);

  async function clearErrors() {
    const scope = taskFilter ? `of '${taskFilter}'` : 'of all AI tasks';
    const deleted = await confirmDialog({ title: `Delete the errors ${scope}?`,
      message: 'The list is cleared; task health is not reset by this.', confirmLabel: 'Delete errors',
      action: () => api.delete(dbPath(db, '/ai/errors'), { query: { name: taskFilter || null } }) });
    if (deleted) {
      toast('Errors deleted.');
      load();
    }
  }

  let shownNames = null;
  function renderFilter(names) {
    const all = [...new Set([...names, taskFilter].filter(Boolean))].sort();
    // Rebuilt only when the task names change, so a refresh never disturbs an open drop-down.
    if (shownNames === all.join('\n')) return;
    shownNames = all.join('\n');
    replace(filter, h('option', { value: '' }, 'All tasks'), all.map((name) => h('option', { value: name }, name)));
    filter.value = taskFilter;
  }

  async function load() {
    try {
      const result = await api.get(dbPath(db, '/ai/errors'), { signal });
      const errors = result?.Errors ?? [];
      renderFilter(errors.map((error) => error.TaskName));
      const shown = errors.filter((error) => !taskFilter || error.TaskName === taskFilter);
      clear.disabled = shown.length === 0;
      if (shown.length === 0) {
        replace(body, h('div', { class: 'card' }, emptyState({ title: 'No errors', iconName: 'check',
          text: taskFilter ? `'${taskFilter}' has no recorded errors.` : 'The AI tasks of this database have no recorded errors.' })));
        return;
      }
      replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'errors-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Task'), h('th', {}, 'Kind'), h('th', {}, 'Step'),
          h('th', {}, 'Document'), h('th', { class: 'num' }, 'Count'), h('th', {}, 'Message'), h('th', {}, 'Time'))),
        h('tbody', {}, shown.map((error) => h('tr', {},
          h('td', {}, error.TaskName),
          h('td', {}, h('span', { class: ['badge', error.Kind === 'Process' ? 'badge-danger' : 'badge-warning'] }, error.Kind)),
          h('td', { class: 'nowrap' }, error.Step ?? '—'),
          h('td', { class: 'id-cell' }, error.DocumentId
            ? h('a', { class: 'mono', href: href('document', db, { id: error.DocumentId }) }, error.DocumentId) : '—'),
          h('td', { class: 'num' }, formatNumber(error.Count ?? 1)),
          h('td', { class: 'error-message' }, error.Message),
          h('td', { class: 'nowrap muted' }, formatDate(error.At))))))));
    } catch (error) {
      if (!isAbort(error)) replace(body, errorState(error, load));
    }
  }
  await load();
  const timer = window.setInterval(load, REFRESH_MS);
  signal.addEventListener('abort', () => window.clearInterval(timer));
}
