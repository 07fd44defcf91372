// AI Hub → AI Tasks → Add / Edit: the embeddings generation task form. Saving sends the
// official client's EmbeddingsGenerationConfiguration JSON to PUT /admin/etl.
import { api, dbPath, isAbort } from '../api.js';
import { openConnectionStringDialog } from '../connection-string-form.js';
import { formatNumber, h, replace, uniqueId } from '../dom.js';
import {
  clearFieldErrors, field, focusFirstError, parseOptionalInt, select, setFieldError, showFieldError, textInput,
} from '../forms.js';
import { TASK_FALLBACK, generateIdentifier, identifierMessage } from '../identifier.js';
import { icon } from '../icons.js';
import { card, pageHeader } from '../page.js';
import { href, navigate } from '../router.js';
import { errorState, loading } from '../states.js';
import { daysToTimeSpan, timeSpanToDays } from '../timespan.js';
import { toast, toastError } from '../toast.js';
import { loadConnectionStrings } from './connection-strings.js';
import { TASK_TYPE } from './ai-tasks.js';

const CHUNKING_METHODS = [
  ['PlainTextSplit', 'Plain text: split'],
  ['PlainTextSplitLines', 'Plain text: split lines'],
  ['PlainTextSplitParagraphs', 'Plain text: split paragraphs'],
  ['MarkDownSplitLines', 'Markdown: split lines'],
  ['MarkDownSplitParagraphs', 'Markdown: split paragraphs'],
  ['HtmlStrip', 'HTML: strip'],
];
// Only the paragraph methods repeat the end of one chunk at the start of the next.
const WITH_OVERLAP = new Set(['PlainTextSplitParagraphs', 'MarkDownSplitParagraphs']);
const DEFAULT_CHUNKING = { ChunkingMethod: 'PlainTextSplit', MaxTokensPerChunk: 512, OverlapTokens: 0 };
const PATHS_TRANSFORM = 'embeddings-from-paths';
const SCRIPT_TRANSFORM = 'embeddings-transform-script';
const DEFAULT_CACHE_DAYS = 90;
const DEFAULT_QUERY_CACHE_DAYS = 14;
const EXAMPLE_SCRIPT = `// Keys are the document fields the embeddings belong to; values are text, arrays of
// text, or chunks from text.split / text.splitParagraphs / markdown.* / html.strip.
embeddings.generate({
    Name: this.Name,
    Description: text.splitParagraphs(this.Description, 256, 32)
});
`;

function segmented(name, options, value, { label, disabled = false } = {}) {
  const labelEl = h('span', { class: 'fieldset-label', id: uniqueId(name) }, label);
  const group = h('div', { class: 'segmented', role: 'radiogroup', 'aria-labelledby': labelEl.id },
    options.map(([optionValue, text]) => h('label', {},
      h('input', { type: 'radio', name, value: optionValue, checked: optionValue === value, disabled }), text)));
  return { labelEl, group, value: () => group.querySelector('input:checked')?.value ?? value };
}

function intText(value) {
  return value === null || value === undefined ? '' : String(value);
}

// Method, max tokens and overlap, addressed as "<prefix>.ChunkingMethod" etc. for field errors.
function chunkingControls(prefix, options, { compact = false } = {}) {
  const current = { ...DEFAULT_CHUNKING, ...(options ?? {}) };
  const method = select(CHUNKING_METHODS, { value: current.ChunkingMethod });
  const maxTokens = textInput({ inputmode: 'numeric', value: intText(current.MaxTokensPerChunk) });
  const overlap = textInput({ inputmode: 'numeric', value: intText(current.OverlapTokens) });
  const sync = () => {
    const allowed = WITH_OVERLAP.has(method.value);
    overlap.disabled = !allowed;
    if (!allowed) overlap.value = '0';
  };
  method.addEventListener('change', sync);
  sync();
  const fields = [
    field({ label: compact ? 'Chunking' : 'Chunking method', input: method, name: `${prefix}.ChunkingMethod` }),
    field({ label: compact ? 'Max tokens' : 'Max tokens per chunk', input: maxTokens, name: `${prefix}.MaxTokensPerChunk` }),
    field({ label: compact ? 'Overlap' : 'Overlap tokens', input: overlap, name: `${prefix}.OverlapTokens`,
      hint: compact ? null : 'Paragraph methods only.' }),
  ];
  function read(fail) {
    const max = Number(maxTokens.value.trim());
    const over = Number(overlap.value.trim() || '0');
    if (!Number.isInteger(max) || max < 1) fail(`${prefix}.MaxTokensPerChunk`, 'Enter a whole number of at least 1.');
    else if (!Number.isInteger(over) || over < 0) fail(`${prefix}.OverlapTokens`, 'Enter a whole number of 0 or more.');
    else if (over >= max) fail(`${prefix}.OverlapTokens`, 'The overlap must be smaller than the chunk.');
    return { ChunkingMethod: method.value, MaxTokensPerChunk: max, OverlapTokens: over, ContextPrefix: options?.ContextPrefix ?? null };
  }
  // The raw inputs, to rebuild the controls without losing what the user typed.
  function snapshot() {
    return { ChunkingMethod: method.value, MaxTokensPerChunk: maxTokens.value, OverlapTokens: overlap.value,
      ContextPrefix: options?.ContextPrefix ?? null };
  }
  return { fields, read, snapshot };
}

export async function render({ root, db, params, signal, setTitle }) {
  const taskId = Number.parseInt(params.get('id') ?? '', 10);
  const editing = Number.isInteger(taskId);
  setTitle(editing ? 'Edit AI task' : 'New AI task');
  replace(root, loading('Loading…'));

  let config = null;
  let connectionStrings = [];
  let collections = [];
  try {
    const [task, strings, stats] = await Promise.all([
      editing ? api.get(dbPath(db, '/task'), { signal, query: { key: taskId, type: TASK_TYPE } }) : null,
      loadConnectionStrings(db, signal),
      api.get(dbPath(db, '/stats'), { signal }),
    ]);
    config = task?.Configuration ?? null;
    connectionStrings = strings;
    collections = Object.keys(stats?.Collections ?? {}).filter((name) => !name.startsWith('@')).sort();
  } catch (error) {
    if (isAbort(error)) return;
    replace(root, errorState(error.status === 404 ? new Error(`There is no AI task with id ${taskId}.`) : error,
      () => render({ root, db, params, signal, setTitle })));
    return;
  }

  const form = h('form', { class: 'stack task-form', novalidate: true });

  // ---- General ---------------------------------------------------------------------------
  const nameInput = textInput({ value: config?.Name ?? '', placeholder: 'e.g. Products name embeddings' });
  const identifierInput = textInput({ value: config?.Identifier ?? '', placeholder: 'Generated from the name' });
  const regenerate = h('button', { class: 'btn', type: 'button' }, icon('refresh', { size: 14 }), 'Regenerate');
  let identifierFollowsName = !editing;
  nameInput.addEventListener('input', () => {
    if (identifierFollowsName) identifierInput.value = generateIdentifier(nameInput.value, TASK_FALLBACK) ?? '';
  });
  identifierInput.addEventListener('input', () => {
    identifierFollowsName = identifierInput.value === '';
  });
  identifierInput.addEventListener('blur', () => {
    setFieldError(form, 'Identifier', identifierInput.value ? identifierMessage(identifierInput.value) : '');
  });
  regenerate.addEventListener('click', () => {
    identifierInput.value = generateIdentifier(nameInput.value, TASK_FALLBACK) ?? '';
    identifierFollowsName = true;
    setFieldError(form, 'Identifier', '');
  });
  const state = segmented('task-state', [['Enabled', 'Enabled'], ['Disabled', 'Disabled']],
    config?.Disabled ? 'Disabled' : 'Enabled', { label: 'Task state' });

  const connectionSelect = h('select', { name: 'connectionString' });
  function renderConnectionOptions(selected) {
    const embeddings = connectionStrings.filter((item) => item.ModelType !== 'Chat');
    replace(connectionSelect, h('option', { value: '' }, embeddings.length ? 'Select a connection string…'
      : 'No text-embeddings connection strings yet'),
    embeddings.map((item) => h('option', { value: item.Name }, item.Name)));
    connectionSelect.value = selected ?? '';
  }
  renderConnectionOptions(config?.ConnectionStringName);
  const createConnection = h('button', { class: 'btn', type: 'button' }, icon('plus', { size: 14 }), 'Create new');
  createConnection.addEventListener('click', async () => {
    const saved = await openConnectionStringDialog({ db, embeddingsOnly: true });
    if (!saved) return;
    toast(`Connection string '${saved}' saved.`);
    try {
      connectionStrings = await loadConnectionStrings(db, signal);
    } catch (error) {
      if (!isAbort(error)) toastError(error.message);
    }
    renderConnectionOptions(saved);
    setFieldError(form, 'ConnectionStringName', '');
    connectionSelect.focus();
  });

  // ---- Source ----------------------------------------------------------------------------
  const collectionInput = textInput({ value: config?.Collection ?? '', list: 'task-collections',
    placeholder: 'e.g. Products' });
  const collectionList = h('datalist', { id: 'task-collections' }, collections.map((name) => h('option', { value: name })));
  const sourceMode = segmented('source-mode', [['paths', 'Paths'], ['script', 'Script']],
    config?.EmbeddingsTransformation ? 'script' : 'paths', { label: 'Embeddings source' });

  const pathRows = h('div', { class: 'path-rows' });
  const rows = [];
  // Rows are addressed by index in the server's field names, so they are rebuilt after a removal.
  function renumberRows() {
    const values = rows.map((row) => ({ ChunkingOptions: row.chunking?.snapshot() ?? row.initial }));
    replace(pathRows, rows.map((row, index) => {
      const prefix = `EmbeddingsPathConfigurations[${index}]`;
      row.chunking = chunkingControls(`${prefix}.ChunkingOptions`, values[index].ChunkingOptions ?? row.initial, { compact: true });
      const remove = h('button', { class: 'btn btn-ghost btn-icon', type: 'button', 'aria-label': `Remove path ${index + 1}`,
        disabled: rows.length === 1, on: { click: () => {
          rows.splice(index, 1);
          renumberRows();
        } } }, icon('trash'));
      row.element = h('div', { class: 'path-row' },
        field({ label: 'Path', input: row.pathInput, name: `${prefix}.Path` }), row.chunking.fields, remove);
      return row.element;
    }));
  }
  const initialPaths = config?.EmbeddingsPathConfigurations?.length ? config.EmbeddingsPathConfigurations : [null];
  for (const entry of initialPaths) {
    const pathInput = textInput({ value: entry?.Path ?? '', placeholder: 'e.g. Name or Address.City' });
    rows.push({ pathInput, chunking: null, element: null, initial: entry?.ChunkingOptions });
  }
  renumberRows();
  const addPath = h('button', { class: 'btn', type: 'button', on: { click: () => {
    const pathInput = textInput({ value: '', placeholder: 'e.g. Description' });
    rows.push({ pathInput, chunking: null, element: null, initial: null });
    renumberRows();
    pathInput.focus();
  } } }, icon('plus', { size: 14 }), 'Add path');
  const pathsSection = h('div', { class: 'form-section' },
    h('p', { class: 'hint' }, 'Each path is a document property to embed, split into chunks of at most the given tokens.'),
    h('div', { class: 'field', dataset: { field: 'EmbeddingsPathConfigurations' } }, pathRows,
      h('p', { class: 'field-error', hidden: true })),
    h('div', {}, addPath));

  const scriptInput = h('textarea', { class: 'code-editor', rows: 9, spellcheck: false,
    value: config?.EmbeddingsTransformation?.Script ?? EXAMPLE_SCRIPT });
  const scriptChunking = chunkingControls('EmbeddingsTransformation.ChunkingOptions',
    config?.EmbeddingsTransformation?.ChunkingOptions);
  const scriptSection = h('div', { class: 'form-section' },
    field({ label: 'Script', input: scriptInput, name: 'EmbeddingsTransformation.Script',
      hint: 'JavaScript run for each document (this is the document). It must call embeddings.generate({...}).' }),
    h('p', { class: 'fieldset-label' }, 'Default chunking for raw values'),
    h('div', { class: 'form-grid form-grid-auto' }, scriptChunking.fields));
  const syncSource = () => {
    const mode = sourceMode.value();
    pathsSection.hidden = mode !== 'paths';
    scriptSection.hidden = mode !== 'script';
  };
  sourceMode.group.addEventListener('change', syncSource);
  syncSource();

  // ---- Quantization and expiration -------------------------------------------------------
  const quantization = segmented('quantization', [['Single', 'Single'], ['Int8', 'Int8'], ['Binary', 'Binary']],
    config?.Quantization ?? 'Single', { label: 'Quantization' });
  const cacheDays = textInput({ inputmode: 'decimal', value: String(timeSpanToDays(config?.EmbeddingsCacheExpiration) ?? DEFAULT_CACHE_DAYS) });
  const regenerateEmbeddings = h('input', { type: 'checkbox', role: 'switch', id: 'regenerate-embeddings' });

  // ---- Querying --------------------------------------------------------------------------
  const queryChunking = chunkingControls('ChunkingOptionsForQuerying', config?.ChunkingOptionsForQuerying);
  const queryCacheDays = textInput({ inputmode: 'decimal',
    value: String(timeSpanToDays(config?.EmbeddingsCacheForQueryingExpiration) ?? DEFAULT_QUERY_CACHE_DAYS) });

  // ---- Cost (rookdb's own) ---------------------------------------------------------------
  const budgetInput = textInput({ name: 'DailyTokenBudget', inputmode: 'numeric', placeholder: 'No limit',
    value: intText(config?.DailyTokenBudget) });

  const saveButton = h('button', { class: 'btn btn-primary', type: 'submit' }, icon('check'), 'Save');
  const previewButton = h('button', { class: 'btn', type: 'button', dataset: { action: 'preview' } }, 'Preview');
  const previewBox = h('div', { class: 'plan-preview', hidden: true });
  form.append(
    card('General',
      h('div', { class: 'form-grid' },
        field({ label: 'Name', input: nameInput, name: 'Name' }),
        field({ label: 'Identifier', input: identifierInput, name: 'Identifier',
          control: h('div', { class: 'input-group' }, identifierInput, regenerate),
          hint: "Used in queries: ai.task('<identifier>'). Lower-case letters, digits and '-'." }),
        h('div', { class: 'field', dataset: { field: 'Disabled' } }, state.labelEl, h('div', {}, state.group)),
        field({ label: 'Connection string', input: connectionSelect, name: 'ConnectionStringName',
          control: h('div', { class: 'input-group' }, connectionSelect, createConnection),
          hint: 'A text-embeddings connection string: pick one, or create a new one here.' }))),
    card('Source',
      h('div', { class: 'form-grid' },
        field({ label: 'Collection', input: collectionInput, name: 'Collection', control: [collectionInput, collectionList] }),
        h('div', { class: 'field' }, sourceMode.labelEl, h('div', {}, sourceMode.group))),
      pathsSection, scriptSection),
    card('Quantization and expiration',
      h('div', { class: 'form-grid' },
        h('div', { class: 'field', dataset: { field: 'Quantization' } }, quantization.labelEl, h('div', {}, quantization.group),
          h('p', { class: 'hint' }, 'Single keeps 32-bit floats; Int8 and Binary store smaller vectors.'),
          h('p', { class: 'field-error', hidden: true })),
        field({ label: 'Embeddings cache expiration (days)', input: cacheDays, name: 'EmbeddingsCacheExpiration',
          hint: 'How long cached embeddings of document text are kept.' }),
        editing && h('div', { class: 'field field-wide' },
          h('label', { class: 'switch', for: regenerateEmbeddings.id }, regenerateEmbeddings,
            h('span', {}, 'Regenerate embeddings')),
          h('p', { class: 'hint' }, 'Embed every document of the collection again when saving.')))),
    card('Querying',
      h('p', { class: 'card-subtitle' }, 'How search terms in vector queries are chunked, and how long their embeddings are cached.'),
      h('div', { class: 'form-grid form-grid-auto' }, queryChunking.fields,
        field({ label: 'Query cache expiration (days)', input: queryCacheDays, name: 'EmbeddingsCacheForQueryingExpiration' }))),
    card('Cost',
      h('div', { class: 'form-grid' },
        field({ label: 'Daily token budget', input: budgetInput, name: 'DailyTokenBudget', optional: true,
          hint: 'The task pauses once it has sent this many input tokens in a day (UTC), and resumes the next day '
            + 'or when the budget is raised. Search terms are never held back.' }))),
    previewBox,
    h('div', { class: 'form-footer' },
      h('a', { class: 'btn', href: href('ai/tasks', db) }, 'Cancel'), previewButton, saveButton));

  // What saving would embed (texts, tokens, what the cache holds), asked of the server before saving.
  function renderPlan(plan) {
    const approx = plan.TokensEstimated ? '≈ ' : '';
    const migrating = plan.Migration
      ? h('p', { class: 'hint' }, `Saving migrates the task from ${plan.CurrentConnectionStringName} to ${plan.ConnectionStringName}: `
        + 'queries keep the current embeddings until the new ones cover every document.')
      : null;
    return h('section', { class: 'card' },
      h('h2', { class: 'card-title' }, 'Before saving'),
      migrating,
      h('div', { class: 'stat-grid' },
        ...[['Documents', formatNumber(plan.Documents ?? 0)], ['Texts', formatNumber(plan.Texts ?? 0)],
          ['Already cached', formatNumber(plan.CachedTexts ?? 0)], ['Texts to embed', formatNumber(plan.TextsToEmbed ?? 0)],
          ['Tokens to embed', `${approx}${formatNumber(plan.TokensToEmbed ?? 0)}`],
          ['Tokens cached', `${approx}${formatNumber(plan.CachedTokens ?? 0)}`],
          ...(typeof plan.Cost === 'number' ? [['Cost', plan.Cost.toFixed(4)]] : [])]
          .map(([label, value]) => h('div', { class: 'stat', dataset: { stat: label } },
            h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value' }, value)))));
  }

  previewButton.addEventListener('click', async () => {
    const collected = collect();
    if (!collected) return;
    previewButton.disabled = true;
    try {
      const plan = await api.post(dbPath(db, '/ai/tasks/plan'), { query: editing ? { id: taskId } : {}, body: collected.body });
      replace(previewBox, renderPlan(plan));
      previewBox.hidden = false;
    } catch (error) {
      if (!showFieldError(form, error)) toastError(`No preview: ${error.message}`);
    } finally {
      previewButton.disabled = false;
    }
  });

  function readDays(input, name, fail) {
    const days = Number(input.value.trim());
    if (!Number.isFinite(days) || days <= 0) {
      fail(name, 'Enter a number of days greater than 0.');
      return null;
    }
    return daysToTimeSpan(days);
  }

  function collect() {
    clearFieldErrors(form);
    const problems = [];
    const fail = (name, message) => {
      if (!setFieldError(form, name, message)) toastError(message);
      problems.push(name);
    };
    const name = nameInput.value.trim();
    if (!name) fail('Name', 'Enter a name.');
    let identifier = identifierInput.value.trim();
    if (identifier) {
      const message = identifierMessage(identifier);
      if (message) fail('Identifier', message);
    } else {
      identifier = generateIdentifier(name, TASK_FALLBACK) ?? '';
    }
    const connectionStringName = connectionSelect.value;
    if (!connectionStringName) fail('ConnectionStringName', 'Select or create a connection string.');
    const collection = collectionInput.value.trim();
    if (!collection) fail('Collection', 'Enter the collection to embed.');
    const mode = sourceMode.value();
    let paths = null;
    let transformation = null;
    if (mode === 'paths') {
      paths = rows.map((row, index) => {
        const path = row.pathInput.value.trim();
        if (!path) fail(`EmbeddingsPathConfigurations[${index}].Path`, 'Enter a path.');
        return { Path: path, ChunkingOptions: row.chunking.read(fail) };
      });
    } else {
      const script = scriptInput.value;
      if (!script.includes('embeddings.generate(')) fail('EmbeddingsTransformation.Script', 'The script must call embeddings.generate({...}).');
      transformation = { Script: script, ChunkingOptions: scriptChunking.read(fail) };
    }
    const chunkingForQuerying = queryChunking.read(fail);
    const cacheExpiration = readDays(cacheDays, 'EmbeddingsCacheExpiration', fail);
    const queryCacheExpiration = readDays(queryCacheDays, 'EmbeddingsCacheForQueryingExpiration', fail);
    const budget = parseOptionalInt(budgetInput.value);
    if (budget.error || (budget.value !== null && budget.value < 0)) fail('DailyTokenBudget', 'Enter a whole number of 0 or more.');
    if (problems.length) {
      focusFirstError(form);
      return null;
    }
    const transformName = mode === 'paths' ? PATHS_TRANSFORM : SCRIPT_TRANSFORM;
    return {
      reset: editing && regenerateEmbeddings.checked ? transformName : null,
      body: {
        EtlType: 'EmbeddingsGeneration',
        Name: name,
        TaskId: editing ? taskId : 0,
        ConnectionStringName: connectionStringName,
        MentorNode: config?.MentorNode ?? null,
        PinToMentorNode: config?.PinToMentorNode ?? false,
        AllowEtlOnNonEncryptedChannel: config?.AllowEtlOnNonEncryptedChannel ?? false,
        Transforms: [{ Name: transformName, Disabled: false, Collections: [collection], ApplyToAllDocuments: false,
          Script: transformation?.Script ?? null, DocumentIdPostfix: null }],
        Disabled: state.value() === 'Disabled',
        Identifier: identifier,
        AiConnectorType: 'None',
        Collection: collection,
        EmbeddingsPathConfigurations: paths,
        EmbeddingsTransformation: transformation,
        Quantization: quantization.value(),
        ChunkingOptionsForQuerying: chunkingForQuerying,
        EmbeddingsCacheExpiration: cacheExpiration,
        EmbeddingsCacheForQueryingExpiration: queryCacheExpiration,
        StoreChunkText: config?.StoreChunkText ?? false,
        // Sent when set, or to clear one that was: absent keeps the stored budget.
        ...(budget.value !== null || (config?.DailyTokenBudget ?? null) !== null ? { DailyTokenBudget: budget.value } : {}),
      },
    };
  }

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const collected = collect();
    if (!collected) return;
    saveButton.disabled = true;
    try {
      const query = editing ? { id: taskId, reset: collected.reset, changeVector: 'DoNotChange' }
        : { changeVector: 'LastDocument' };
      await api.put(dbPath(db, '/admin/etl'), { query, body: collected.body });
      toast(`Task '${collected.body.Name}' saved.`);
      navigate(href('ai/tasks', db));
    } catch (error) {
      if (!showFieldError(form, error)) toastError(`Not saved: ${error.message}`);
    } finally {
      saveButton.disabled = false;
    }
  });

  replace(root, pageHeader({ title: editing ? `Edit task '${config?.Name}'` : 'New embeddings generation task',
    crumbs: [[db, href('documents', db)], ['AI Tasks', href('ai/tasks', db)]] }), form);
  nameInput.focus({ preventScroll: true });
}
