// One document: its JSON with metadata (view, edit with validation, create, delete), its
// attachments, and the link to its embeddings document when an embeddings task made one.
import { api, dbPath, isAbort } from '../api.js';
import { confirmDialog } from '../dialog.js';
import { formatDate, h, replace } from '../dom.js';
import { field, setFieldError, textInput } from '../forms.js';
import { icon } from '../icons.js';
import { card, pageHeader } from '../page.js';
import { href, navigate } from '../router.js';
import { emptyState, errorState, loading } from '../states.js';
import { toast, toastError } from '../toast.js';
import { metadataOf } from '../values.js';

// RavenDB keeps a document's embeddings in "embeddings/<source id>", in "@embeddings/<Collection>".
const EMBEDDINGS_PREFIX = 'embeddings/';

function lineAndColumn(text, position) {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  return { line, column: position - before.lastIndexOf('\n') };
}

// JSON.parse's message, with the line and column of the problem when the engine gives a position.
function checkJson(text) {
  try {
    const value = JSON.parse(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return { error: 'A document must be a JSON object: { ... }.' };
    }
    return { value };
  } catch (error) {
    const match = /position (\d+)/.exec(error.message);
    let message = error.message;
    if (match && !/line \d+/.test(message)) {
      const { line, column } = lineAndColumn(text, Number(match[1]));
      message = `${message} (line ${line}, column ${column})`;
    }
    return { error: `Invalid JSON: ${message}` };
  }
}

function bytes(size) {
  if (typeof size !== 'number') return '';
  if (size < 1024) return `${size} B`;
  return `${(size / 1024).toFixed(size < 10240 ? 1 : 0)} KB`;
}

function propertiesCard(db, metadata) {
  const collection = metadata['@collection'];
  const rows = [
    ['Collection', collection ? h('a', { href: href('documents', db, { collection }) }, collection) : '—'],
    ['Change vector', h('span', { class: 'mono' }, metadata['@change-vector'] ?? '—')],
    ['Last modified', formatDate(metadata['@last-modified'])],
    metadata['@flags'] && ['Flags', metadata['@flags']],
  ].filter(Boolean);
  return card('Properties', h('dl', { class: 'props' }, rows.map(([term, value]) => [h('dt', {}, term), h('dd', {}, value)])));
}

function attachmentsCard(db, id, metadata) {
  const attachments = Array.isArray(metadata['@attachments']) ? metadata['@attachments'] : [];
  return card(`Attachments (${attachments.length})`, attachments.length === 0
    ? h('p', { class: 'muted' }, 'No attachments.')
    : h('ul', { class: 'plain-list attachments' }, attachments.map((attachment) => h('li', { class: 'attachment' },
      h('a', { class: 'attachment-name', download: attachment.Name,
        href: `${dbPath(db, '/attachments')}?${new URLSearchParams({ id, name: attachment.Name })}` },
      icon('paperclip', { size: 14 }), ' ', attachment.Name),
      h('span', { class: 'faint' }, [attachment.ContentType, bytes(attachment.Size)].filter(Boolean).join(' · '))))));
}

function embeddingsCard(db, id, metadata, embeddings) {
  if (id.startsWith(EMBEDDINGS_PREFIX)) {
    const source = id.slice(EMBEDDINGS_PREFIX.length);
    return card('Embeddings of', h('p', {}, 'This document holds the embeddings of ',
      h('a', { class: 'mono', href: href('document', db, { id: source }) }, source), '.'));
  }
  if (!embeddings) {
    return card('Embeddings', h('p', { class: 'muted' }, 'No embeddings document for this document.'));
  }
  const embeddingsMetadata = metadataOf(embeddings);
  const tasks = Object.keys(embeddings).filter((key) => !key.startsWith('@'));
  return card('Embeddings',
    h('p', {}, h('a', { class: 'mono embeddings-link', href: href('document', db, { id: embeddingsMetadata['@id'] }) },
      embeddingsMetadata['@id']), h('br'), h('span', { class: 'faint' }, 'in ',
      embeddingsMetadata['@collection'] ?? `@embeddings/${metadata['@collection']}`)),
    tasks.length > 0 && h('ul', { class: 'plain-list' }, tasks.map((task) => {
      const entry = embeddings[task] ?? {};
      const properties = Object.keys(entry).filter((key) => !key.startsWith('@'));
      return h('li', {}, h('span', { class: 'badge badge-accent' }, task), ' ',
        h('span', { class: 'faint' }, properties.map((property) =>
          `${property} (${Array.isArray(entry[property]) ? entry[property].length : 0})`).join(', ')));
    })));
}

function newDocumentTemplate(collection) {
  const body = collection ? { Name: '', '@metadata': { '@collection': collection } } : { Name: '' };
  return JSON.stringify(body, null, 2);
}

export async function render({ root, db, params, signal, setTitle }) {
  const creating = params.has('new');
  const id = params.get('id');
  const collection = params.get('collection') || null;
  setTitle(creating ? 'New document' : id);
  replace(root, loading('Loading document…'));

  let doc = null;
  let embeddings = null;
  if (!creating) {
    try {
      const related = id.startsWith(EMBEDDINGS_PREFIX) ? id.slice(EMBEDDINGS_PREFIX.length) : `${EMBEDDINGS_PREFIX}${id}`;
      // Loading both ids in one POST answers 200 with nulls for missing ones (no 404 to handle).
      const result = await api.post(dbPath(db, '/docs'), { signal, body: { Ids: [id, related] } });
      [doc, embeddings] = result?.Results ?? [];
      if (id.startsWith(EMBEDDINGS_PREFIX)) embeddings = null;
    } catch (error) {
      if (!isAbort(error)) replace(root, errorState(error, () => render({ root, db, params, signal, setTitle })));
      return;
    }
    if (!doc) {
      replace(root, pageHeader({ title: id, crumbs: [[db, href('documents', db)], ['Documents', href('documents', db)]] }),
        h('div', { class: 'card' }, emptyState({ title: 'Document not found', iconName: 'alert',
          text: `There is no document '${id}' in ${db}. It may have been deleted.`,
          action: h('a', { class: 'btn', href: href('documents', db) }, 'Back to documents') })));
      return;
    }
  }

  const metadata = metadataOf(doc);
  const docCollection = metadata['@collection'] ?? collection;
  const editor = h('textarea', { class: 'code-editor doc-editor', spellcheck: false, id: 'document-json',
    'aria-label': 'Document JSON', value: creating ? newDocumentTemplate(collection) : JSON.stringify(doc, null, 2) });
  const status = h('p', { class: 'json-status', role: 'status', id: 'document-json-status' });
  editor.setAttribute('aria-describedby', status.id);
  const idInput = creating ? textInput({ name: 'id', value: collection ? `${collection.toLowerCase()}/` : '',
    placeholder: 'e.g. products/78-A' }) : null;
  const saveButton = h('button', { class: 'btn btn-primary', type: 'button', on: { click: save } },
    icon('check'), creating ? 'Create' : 'Save', h('span', { class: 'kbd hide-narrow' }, 'Ctrl+S'));
  const formatButton = h('button', { class: 'btn', type: 'button', on: { click: format } }, 'Format');
  const deleteButton = !creating && h('button', { class: 'btn btn-danger-quiet', type: 'button', on: { click: remove } },
    icon('trash'), 'Delete');

  function validate() {
    const checked = checkJson(editor.value);
    status.textContent = checked.error ?? 'Valid JSON';
    status.className = `json-status ${checked.error ? 'bad' : 'ok'}`;
    editor.setAttribute('aria-invalid', checked.error ? 'true' : 'false');
    saveButton.disabled = Boolean(checked.error);
    formatButton.disabled = Boolean(checked.error);
    return checked;
  }

  function format() {
    const checked = validate();
    if (!checked.error) editor.value = JSON.stringify(checked.value, null, 2);
  }

  async function save() {
    const checked = validate();
    if (checked.error) {
      editor.focus();
      return;
    }
    const targetId = creating ? idInput.value.trim() : id;
    saveButton.disabled = true;
    try {
      const headers = creating ? {} : { 'If-Match': metadata['@change-vector'] };
      const result = await api.put(dbPath(db, '/docs'), { query: { id: targetId || null }, body: checked.value, headers });
      toast(creating ? `Document '${result.Id}' created.` : `Document '${result.Id}' saved.`);
      navigate(href('document', db, { id: result.Id }));
    } catch (error) {
      if (creating && error.field) setFieldError(root, 'Id', error.fieldMessage);
      toastError(error.status === 409
        ? `Not saved: the document was changed by someone else. Reload it to see the changes. (${error.message})`
        : `Not saved: ${error.message}`);
      saveButton.disabled = false;
    }
  }

  async function remove() {
    const deleted = await confirmDialog({ title: `Delete '${id}'?`, message: 'The document is deleted permanently.',
      confirmLabel: 'Delete document',
      action: () => api.delete(dbPath(db, '/docs'), { query: { id } }) });
    if (deleted) {
      toast(`Document '${id}' deleted.`);
      navigate(href('documents', db, { collection: docCollection }));
    }
  }

  editor.addEventListener('input', validate);
  editor.addEventListener('keydown', (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key.toLowerCase() === 's') {
      event.preventDefault();
      save();
    }
  });
  idInput?.addEventListener('keydown', (event) => {
    if (event.key === 'Enter') save();
  });

  const crumbs = [[db, href('documents', db)], ['Documents', href('documents', db)]];
  if (docCollection) crumbs.push([docCollection, href('documents', db, { collection: docCollection })]);
  replace(root,
    pageHeader({ title: creating ? 'New document' : id, crumbs, actions: [deleteButton, formatButton, saveButton] }),
    h('div', { class: 'doc-layout' },
      h('section', { class: 'card', 'aria-label': 'Document' },
        creating && field({ label: 'Document ID', input: idInput, name: 'Id',
          hint: "Ends with '/' (e.g. 'products/'): the server completes it. Empty: a GUID." }),
        h('div', { class: 'editor-heading' }, h('label', { class: 'fieldset-label', for: editor.id }, 'JSON'), status),
        editor),
      !creating && h('aside', { class: 'doc-side' },
        propertiesCard(db, metadata),
        attachmentsCard(db, id, metadata),
        embeddingsCard(db, id, metadata, embeddings)),
      creating && h('aside', { class: 'doc-side' }, card('Tips',
        h('p', { class: 'muted' }, 'Set the collection in ', h('code', {}, '@metadata.@collection'),
          '. Properties starting with @ in the metadata are managed by the server.')))));
  validate();
  (creating ? idInput : editor).focus({ preventScroll: true });
}
