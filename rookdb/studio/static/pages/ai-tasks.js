// AI Hub → AI Tasks: embeddings generation tasks with live progress, enable/disable, edit, delete.
import { api, dbPath, isAbort } from '../api.js';
import { confirmDialog } from '../dialog.js';
import { h, replace } from '../dom.js';
import { icon } from '../icons.js';
import { pageHeader } from '../page.js';
import { REFRESH_MS, healthBadge, loadProgress, progressFor, progressView } from '../progress.js';
import { href } from '../router.js';
import { emptyState, errorState, loading } from '../states.js';
import { toast, toastError } from '../toast.js';

export const TASK_TYPE = 'EmbeddingsGeneration';

async function loadTasks(db, signal) {
  const result = await api.get(dbPath(db, '/tasks'), { signal });
  return (result?.OngoingTasks ?? []).filter((task) => task.TaskType === TASK_TYPE);
}

function identifierOf(task) {
  return task.Configuration?.Identifier ?? task.Identifier ?? '';
}

export async function render({ root, db, signal, setTitle }) {
  setTitle('AI Tasks');
  const body = h('div', {}, loading('Loading AI tasks…'));
  const addLink = h('a', { class: 'btn btn-primary', href: href('ai/tasks/new', db) }, icon('plus'), 'Add AI task');
  replace(root, pageHeader({ title: 'AI Tasks', actions: [addLink],
    subtitle: 'Embeddings generation tasks: they embed the chosen fields of a collection and keep the embeddings current.',
    crumbs: [[db, href('documents', db)], ['AI Hub', null]] }), body);
  const progressCells = new Map();

  async function toggle(task, input) {
    const disable = !input.checked;
    input.disabled = true;
    try {
      await api.post(dbPath(db, '/admin/tasks/state'), { query: { key: task.TaskId, type: TASK_TYPE,
        disable, taskName: task.TaskName } });
      toast(`Task '${task.TaskName}' ${disable ? 'disabled' : 'enabled'}.`);
    } catch (error) {
      input.checked = disable;
      toastError(`Could not ${disable ? 'disable' : 'enable'} '${task.TaskName}': ${error.message}`);
    } finally {
      input.disabled = false;
    }
  }

  async function remove(task) {
    const deleted = await confirmDialog({ title: `Delete task '${task.TaskName}'?`,
      message: 'The task stops and is removed. Embeddings it already generated stay in @embeddings collections.',
      confirmLabel: 'Delete task',
      action: () => api.delete(dbPath(db, '/admin/tasks'), { query: { id: task.TaskId, type: TASK_TYPE } }) });
    if (deleted) {
      toast(`Task '${task.TaskName}' deleted.`);
      load();
    }
  }

  function row(task) {
    const enabled = task.TaskState !== 'Disabled';
    const switchInput = h('input', { type: 'checkbox', role: 'switch', checked: enabled,
      'aria-label': `Enable ${task.TaskName}` });
    switchInput.addEventListener('change', () => toggle(task, switchInput));
    const progressCell = h('td', { class: 'progress-cell' }, progressView(null, task.TaskName));
    const healthCell = h('td', { class: 'hide-narrow' });
    progressCells.set(task.TaskId, { task, progressCell, healthCell });
    return h('tr', { dataset: { task: task.TaskName } },
      h('td', {}, h('a', { href: href('ai/tasks/edit', db, { id: task.TaskId }) }, h('strong', {}, task.TaskName))),
      h('td', { class: 'mono hide-narrow' }, identifierOf(task)),
      h('td', { class: 'hide-narrow' }, task.ConnectionStringName ?? '—'),
      progressCell,
      healthCell,
      h('td', {}, h('label', { class: 'switch' }, switchInput)),
      h('td', { class: 'actions' },
        h('a', { class: 'btn btn-sm', href: href('ai/tasks/edit', db, { id: task.TaskId }), 'aria-label': `Edit ${task.TaskName}` },
          icon('edit', { size: 14 }), 'Edit'),
        h('button', { class: 'btn btn-sm btn-danger-quiet', type: 'button', 'aria-label': `Delete ${task.TaskName}`,
          on: { click: () => remove(task) } }, icon('trash', { size: 14 }), 'Delete')));
  }

  async function refreshProgress() {
    if (progressCells.size === 0) return;
    try {
      const entries = await loadProgress(db, signal);
      for (const { task, progressCell, healthCell } of progressCells.values()) {
        const entry = progressFor(entries, task.TaskId, task.TaskName);
        replace(progressCell, progressView(entry, task.TaskName));
        replace(healthCell, healthBadge(entry));
      }
    } catch (error) {
      if (!isAbort(error)) {
        for (const { progressCell } of progressCells.values()) {
          replace(progressCell, h('span', { class: 'faint', title: error.message }, 'Progress unavailable'));
        }
      }
    }
  }

  async function load() {
    try {
      const tasks = await loadTasks(db, signal);
      progressCells.clear();
      if (tasks.length === 0) {
        replace(body, h('div', { class: 'card' }, emptyState({ title: 'No AI tasks yet', iconName: 'tasks',
          text: 'An embeddings generation task turns a collection\'s text into vectors for vector search.',
          action: h('a', { class: 'btn btn-primary', href: href('ai/tasks/new', db) }, icon('plus'), 'Add AI task') })));
        return;
      }
      replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'tasks-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Task'), h('th', { class: 'hide-narrow' }, 'Identifier'),
          h('th', { class: 'hide-narrow' }, 'Connection string'), h('th', {}, 'Progress'),
          h('th', { class: 'hide-narrow' }, 'Health'), h('th', {}, 'Enabled'),
          h('th', { class: 'actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
        h('tbody', {}, tasks.map(row)))));
      await refreshProgress();
    } catch (error) {
      if (!isAbort(error)) replace(body, errorState(error, load));
    }
  }

  await load();
  const timer = window.setInterval(refreshProgress, REFRESH_MS);
  signal.addEventListener('abort', () => window.clearInterval(timer));
}
