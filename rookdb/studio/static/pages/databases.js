// Databases: the list with document counts, create, delete, and the Northwind sample data.
import { api, dbPath, isAbort } from '../api.js';
import { KEEP_OPEN, confirmDialog, modal } from '../dialog.js';
import { formatNumber, h, plural, replace } from '../dom.js';
import { field, setFieldError, showFieldError, textInput } from '../forms.js';
import { icon } from '../icons.js';
import { pageHeader } from '../page.js';
import { href } from '../router.js';
import { emptyState, errorState, loading } from '../states.js';
import { toast, toastError } from '../toast.js';

// RavenDB's database-name rule, checked before asking the server (which checks it again).
const DATABASE_NAME = /^[A-Za-z0-9_\-.]{1,128}$/;

function nameProblem(name) {
  if (!name) return 'Enter a name.';
  if (!DATABASE_NAME.test(name) || name.startsWith('.') || name.endsWith('.')) {
    return "Use letters, digits, '_', '-' or '.' (not at the start or end), at most 128 characters.";
  }
  return null;
}

function databasesChanged() {
  window.dispatchEvent(new Event('studio:databases-changed'));
}

async function createDatabase(onCreated) {
  const input = textInput({ name: 'name', placeholder: 'e.g. Northwind', autofocus: true });
  const content = h('div', { class: 'form-stack' },
    field({ label: 'Name', input, name: 'DatabaseName',
      hint: "Letters, digits, '_', '-' and '.'; names are case-insensitive." }));
  const created = await modal({
    title: 'New database', content, submitLabel: 'Create',
    onSubmit: async () => {
      const name = input.value.trim();
      const problem = nameProblem(name);
      setFieldError(content, 'DatabaseName', problem ?? '');
      if (problem) {
        input.focus();
        return KEEP_OPEN;
      }
      try {
        await api.put('/admin/databases', { query: { name }, body: { DatabaseName: name } });
      } catch (error) {
        if (error.status === 409 || showFieldError(content, error)) {
          setFieldError(content, 'DatabaseName', error.status === 409
            ? `A database named '${name}' already exists.` : error.fieldMessage);
          input.focus();
          return KEEP_OPEN;
        }
        throw error;
      }
      return name;
    },
  });
  if (created) {
    toast(`Database '${created}' created.`);
    databasesChanged();
    onCreated(created);
  }
}

async function deleteDatabase(database, onDeleted) {
  const deleted = await confirmDialog({
    title: `Delete database '${database.Name}'?`,
    message: `This permanently deletes the database and its ${plural(database.DocumentsCount ?? 0, 'document')}.`
      + ' It cannot be undone.',
    confirmLabel: 'Delete database',
    action: () => api.delete('/admin/databases', { body: { DatabaseNames: [database.Name] } }),
  });
  if (deleted) {
    toast(`Database '${database.Name}' deleted.`);
    databasesChanged();
    onDeleted();
  }
}

async function createSampleData(database, button, onDone) {
  button.disabled = true;
  button.replaceChildren(h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Creating…');
  try {
    const result = await api.post(dbPath(database.Name, '/studio/sample-data'), { query: { name: 'northwind' } });
    toast(`Sample data created in '${database.Name}': ${plural(result?.Imported ?? 0, 'document')}.`);
    databasesChanged();
  } catch (error) {
    toastError(`Could not create sample data: ${error.message}`);
  }
  onDone();
}

function databaseRow(database, reload) {
  const collections = Object.keys(database.Collections ?? {}).length;
  const sample = h('button', { class: 'btn btn-sm', type: 'button',
    on: { click: () => createSampleData(database, sample, reload) } }, icon('sample', { size: 14 }),
  'Create sample data');
  return h('tr', { dataset: { database: database.Name } },
    h('td', {}, h('a', { href: href('documents', database.Name), class: 'db-name' }, database.Name)),
    h('td', { class: 'num' }, formatNumber(database.DocumentsCount ?? 0)),
    h('td', { class: 'num hide-narrow' }, formatNumber(collections)),
    h('td', { class: 'actions' },
      (database.DocumentsCount ?? 0) === 0 && sample,
      h('a', { class: 'btn btn-sm hide-narrow', href: href('query', database.Name) }, 'Query'),
      h('button', { class: 'btn btn-sm btn-danger-quiet', type: 'button', 'aria-label': `Delete ${database.Name}`,
        on: { click: () => deleteDatabase(database, reload) } }, icon('trash', { size: 14 }), 'Delete')));
}

export async function render({ root, signal, setTitle }) {
  setTitle('Databases');
  const body = h('div', {}, loading('Loading databases…'));
  const newButton = h('button', { class: 'btn btn-primary', type: 'button',
    on: { click: () => createDatabase(load) } }, icon('plus'), 'New database');
  replace(root, pageHeader({ title: 'Databases', subtitle: 'Each database holds its own documents, AI connection strings and tasks.',
    actions: [newButton] }), body);

  async function load() {
    try {
      const result = await api.get('/databases', { signal });
      const databases = result?.Databases ?? [];
      if (databases.length === 0) {
        replace(body, emptyState({ title: 'No databases yet', iconName: 'database',
          text: 'Create a database, then fill it with the Northwind sample data to explore the Studio.',
          action: h('button', { class: 'btn btn-primary', type: 'button', on: { click: () => createDatabase(load) } },
            icon('plus'), 'New database') }));
        return;
      }
      replace(body, h('div', { class: 'table-wrap' },
        h('table', {},
          h('thead', {}, h('tr', {},
            h('th', {}, 'Name'), h('th', { class: 'num' }, 'Documents'),
            h('th', { class: 'num hide-narrow' }, 'Collections'), h('th', { class: 'actions' }, h('span', { class: 'sr-only' }, 'Actions')))),
          h('tbody', {}, databases.map((database) => databaseRow(database, load))))));
    } catch (error) {
      if (!isAbort(error)) replace(body, errorState(error, load));
    }
  }
  await load();
}
