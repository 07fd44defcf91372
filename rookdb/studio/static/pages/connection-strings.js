// AI Hub → AI Connection Strings: the list (with the tasks using each), Add new, Edit, Delete.
import { api, dbPath, isAbort } from '../api.js';
import { connectorOf } from '../connectors.js';
import { openConnectionStringDialog } from '../connection-string-form.js';
import { confirmDialog } from '../dialog.js';
import { h, replace } from '../dom.js';
import { icon } from '../icons.js';
import { pageHeader } from '../page.js';
import { href } from '../router.js';
import { emptyState, errorState, loading } from '../states.js';
import { toast, toastError } from '../toast.js';

export async function loadConnectionStrings(db, signal) {
  const result = await api.get(dbPath(db, '/admin/connection-strings'), { signal, query: { type: 'Ai' } });
  return Object.values(result?.AiConnectionStrings ?? {});
}

function modelOf(connectionString) {
  const connector = connectorOf(connectionString);
  if (!connector) return '—';
  if (connector.key === 'EmbeddedSettings') return 'bge-micro-v2';
  const settings = connectionString[connector.key] ?? {};
  return settings.Model ?? settings.DeploymentName ?? '—';
}

function usedByCell(db, connectionString) {
  const usedBy = connectionString.UsedBy ?? [];
  if (usedBy.length === 0) return h('span', { class: 'faint' }, 'Not in use');
  return h('span', { class: 'row' }, usedBy.map((task) => h('a', { class: 'badge badge-accent',
    href: href('ai/tasks/edit', db, { id: task.Id }) }, task.Name ?? task.Identifier ?? `#${task.Id}`)));
}

export async function render({ root, db, signal, setTitle }) {
  setTitle('AI Connection Strings');
  const body = h('div', {}, loading('Loading connection strings…'));
  const addButton = h('button', { class: 'btn btn-primary', type: 'button', on: { click: () => edit(null) } },
    icon('plus'), 'Add new');
  replace(root, pageHeader({ title: 'AI Connection Strings', actions: [addButton],
    subtitle: 'How this database reaches an embeddings or chat model. A task uses one; many tasks may share one.',
    crumbs: [[db, href('documents', db)], ['AI Hub', null]] }), body);

  async function edit(existing) {
    let current = existing;
    if (existing) {
      // Reload it: the list may be stale, and "in use" decides what may change.
      try {
        const result = await api.get(dbPath(db, '/admin/connection-strings'), {
          query: { connectionStringName: existing.Name, type: 'Ai' } });
        current = result?.AiConnectionStrings?.[existing.Name] ?? existing;
      } catch (error) {
        toastError(error.message);
        return;
      }
    }
    const saved = await openConnectionStringDialog({ db, existing: current });
    if (saved) {
      toast(`Connection string '${saved}' saved.`);
      load();
    }
  }

  async function remove(connectionString) {
    const deleted = await confirmDialog({
      title: `Delete connection string '${connectionString.Name}'?`,
      message: (connectionString.UsedBy ?? []).length
        ? 'Tasks use this connection string; the server will refuse to delete it while they do.'
        : 'Tasks and queries will no longer be able to use it.',
      confirmLabel: 'Delete',
      action: () => api.delete(dbPath(db, '/admin/connection-strings'), {
        query: { connectionString: connectionString.Name, type: 'Ai' } }),
    });
    if (deleted) {
      toast(`Connection string '${connectionString.Name}' deleted.`);
      load();
    }
  }

  async function load() {
    try {
      const connectionStrings = await loadConnectionStrings(db, signal);
      if (connectionStrings.length === 0) {
        replace(body, h('div', { class: 'card' }, emptyState({ title: 'No AI connection strings yet', iconName: 'plug',
          text: 'Add one to connect this database to an embeddings model (Hugging Face, OpenAI, Ollama, the embedded model …).',
          action: h('button', { class: 'btn btn-primary', type: 'button', on: { click: () => edit(null) } },
            icon('plus'), 'Add new') })));
        return;
      }
      replace(body, h('div', { class: 'table-wrap' }, h('table', { class: 'connection-strings-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', { class: 'hide-narrow' }, 'Identifier'), h('th', {}, 'Connector'),
          h('th', { class: 'hide-narrow' }, 'Model'),
          h('th', {}, 'In use by'), h('th', { class: 'actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
        h('tbody', {}, connectionStrings.map((connectionString) => h('tr', { dataset: { name: connectionString.Name } },
          h('td', {}, h('strong', {}, connectionString.Name)),
          h('td', { class: 'mono hide-narrow' }, connectionString.Identifier),
          h('td', {}, h('div', {}, connectorOf(connectionString)?.label ?? '—'),
            h('div', { class: 'faint cell-sub' }, connectionString.ModelType === 'Chat' ? 'Chat' : 'Text embeddings')),
          h('td', { class: 'mono hide-narrow model-cell' }, modelOf(connectionString)),
          h('td', {}, usedByCell(db, connectionString)),
          h('td', { class: 'actions' },
            h('button', { class: 'btn btn-sm', type: 'button', 'aria-label': `Edit ${connectionString.Name}`,
              on: { click: () => edit(connectionString) } }, icon('edit', { size: 14 }), 'Edit'),
            h('button', { class: 'btn btn-sm btn-danger-quiet', type: 'button', 'aria-label': `Delete ${connectionString.Name}`,
              on: { click: () => remove(connectionString) } }, icon('trash', { size: 14 }), 'Delete'))))))));
    } catch (error) {
      if (!isAbort(error)) replace(body, errorState(error, load));
    }
  }
  await load();
}
