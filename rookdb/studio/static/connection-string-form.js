// The AI connection-string form, in the Studio's order: Name, Identifier (+ Regenerate), Model
// type, Connector, the connector's fields, Max concurrent query batches, Test Connection, then
// Save / Cancel. Opened from the connection-strings page and, inline, from the task form.
import { api, dbPath } from './api.js';
import { KEEP_OPEN, modal } from './dialog.js';
import { h, replace, uniqueId } from './dom.js';
import {
  clearFieldErrors, field, focusFirstError, parseOptionalFloat, parseOptionalInt, secretInput, secretTextarea,
  select, setFieldError, showFieldError, textInput,
} from './forms.js';
import { MODEL_TYPES, connectionStringJson, connectorByKey, connectorOf, connectorsFor, fieldsFor } from './connectors.js';
import { connectionStringExtras } from './connection-string-extras.js';
import { generateIdentifier, identifierMessage } from './identifier.js';
import { icon } from './icons.js';

function initialDraft(existing) {
  const draft = {};
  const connector = connectorOf(existing);
  if (connector) {
    const settings = existing[connector.key] ?? {};
    draft[connector.key] = Object.fromEntries(Object.entries(settings)
      .map(([key, value]) => [key, value === null || value === undefined ? '' : String(value)]));
  }
  return draft;
}

function parseValue(spec, text) {
  const kind = spec.kind ?? 'text';
  if (kind === 'int') return parseOptionalInt(text);
  if (kind === 'float') return parseOptionalFloat(text);
  if (kind === 'tristate') return { value: text === '' ? null : text === 'true' };
  const trimmed = (text ?? '').trim();
  return { value: trimmed === '' ? null : trimmed };
}

function promptText(prompt) {
  return prompt ? JSON.stringify(prompt) : 'none';
}

function testResultView(result) {
  if (result.Success) {
    const facts = [
      ['Protocol', result.Protocol], ['Dimensions', result.Dimensions],
      ['Latency', typeof result.LatencyMs === 'number' ? `${Math.round(result.LatencyMs)} ms` : null],
      ['Model', result.Model],
      ['Query prompt', promptText(result.QueryPrompt)], ['Document prompt', promptText(result.DocumentPrompt)],
      ['Prompt convention', result.PromptConvention],
    ].filter(([, value]) => value !== null && value !== undefined && value !== '');
    return h('div', { class: 'alert alert-success test-result', dataset: { outcome: 'success' } },
      icon('check'), h('div', { class: 'alert-body' }, h('strong', {}, 'Connection succeeded'),
        h('dl', {}, facts.map(([term, value]) => h('div', {}, h('dt', {}, term), h('dd', { dataset: { fact: term } }, String(value)))))));
  }
  return failureView(result.Error ?? 'The provider did not answer as expected.', result.ErrorKind, result.Url);
}

function failureView(message, kind, url) {
  return h('div', { class: 'alert alert-error test-result', dataset: { outcome: 'failure' } }, icon('alert'),
    h('div', { class: 'alert-body' },
      h('strong', {}, kind ? `Connection failed: ${kind.replaceAll('-', ' ')}` : 'Connection failed'),
      h('span', { class: 'test-error' }, message),
      url && h('span', { class: 'faint mono' }, url)));
}

export async function openConnectionStringDialog({ db, existing = null, embeddingsOnly = false }) {
  const editing = Boolean(existing);
  const usedBy = existing?.UsedBy ?? [];
  const locked = editing && usedBy.length > 0;
  const draft = initialDraft(existing);
  let connector = connectorOf(existing);
  let modelType = existing?.ModelType ?? 'TextEmbeddings';
  let identifierFollowsName = !editing;

  const nameInput = textInput({ name: 'name', value: existing?.Name ?? '', readOnly: editing,
    placeholder: 'e.g. Hugging Face embeddings' });
  const identifierInput = textInput({ name: 'identifier', value: existing?.Identifier ?? '',
    placeholder: 'Generated from the name' });
  const regenerateButton = h('button', { class: 'btn', type: 'button' }, icon('refresh', { size: 14 }), 'Regenerate');
  const modelTypeLabel = h('span', { class: 'fieldset-label', id: uniqueId('model-type') }, 'Model type');
  const modelTypeGroup = h('div', { class: 'segmented', role: 'radiogroup', 'aria-labelledby': modelTypeLabel.id });
  const connectorSelect = h('select', { name: 'connector', disabled: locked });
  const connectorFields = h('div', { class: 'form-stack connector-fields-box' });
  const batchesInput = textInput({ name: 'batches', inputmode: 'numeric', placeholder: 'Server default (4)',
    value: connector && existing[connector.key]?.EmbeddingsMaxConcurrentBatches != null
      ? String(existing[connector.key].EmbeddingsMaxConcurrentBatches) : '' });
  const extras = connectionStringExtras(existing);
  const testButton = h('button', { class: 'btn', type: 'button' }, icon('plug', { size: 14 }), 'Test connection');
  const testResult = h('div', { class: 'test-result-slot', 'aria-live': 'polite' });
  const testRow = h('div', { class: 'stack-sm test-row' }, h('div', {}, testButton), testResult);

  for (const { value, label } of MODEL_TYPES) {
    const disabled = locked || (embeddingsOnly && value !== 'TextEmbeddings');
    const radio = h('input', { type: 'radio', name: 'modelType', value, checked: value === modelType, disabled });
    radio.addEventListener('change', () => {
      modelType = value;
      extras.showFor(modelType);
      renderConnectorOptions();
      renderConnectorFields();
    });
    modelTypeGroup.append(h('label', {}, radio, label));
  }

  function renderConnectorOptions() {
    const available = connectorsFor(modelType);
    if (connector && !available.includes(connector)) connector = null;
    replace(connectorSelect, h('option', { value: '' }, 'Select a connector…'),
      available.map((option) => h('option', { value: option.key }, option.label)));
    connectorSelect.value = connector?.key ?? '';
  }

  function fieldControl(spec) {
    const values = (draft[connector.key] ??= {});
    const value = values[spec.name] ?? '';
    const disabled = locked && spec.locked;
    const remember = (event) => {
      values[spec.name] = event.target.value;
    };
    let input;
    let control;
    if (spec.secret) {
      ({ input, control } = secretInput({ value, placeholder: spec.placeholder?.[modelType] ?? spec.placeholder }));
    } else if (spec.kind === 'secret-json') {
      ({ input, control } = secretTextarea({ value, placeholder: '{ "type": "service_account", ... }' }));
    } else if (spec.kind === 'tristate') {
      input = select([['', spec.defaultLabel], ['true', spec.trueLabel ?? 'On'], ['false', spec.falseLabel ?? 'Off']],
        { value });
    } else if (spec.kind === 'choice') {
      input = select(spec.choices, { value });
    } else {
      const placeholder = typeof spec.placeholder === 'object' ? spec.placeholder[modelType] : spec.placeholder;
      input = textInput({ value, placeholder, inputmode: spec.kind ? 'decimal' : undefined });
    }
    input.name = spec.name;
    input.disabled = disabled;
    input.addEventListener('input', remember);
    input.addEventListener('change', remember);
    const hint = disabled ? 'Locked while a task uses this connection string.' : spec.hint;
    return field({ label: spec.label, input, control: control ?? input, name: `${connector.key}.${spec.name}`, hint,
      optional: !spec.required });
  }

  function renderConnectorFields() {
    testResult.replaceChildren();
    if (!connector) {
      replace(connectorFields);
      testRow.hidden = true;
      return;
    }
    replace(connectorFields,
      connector.note && h('p', { class: 'alert alert-info' }, icon('hub'), h('span', {}, connector.note)),
      fieldsFor(connector, modelType).map(fieldControl));
    // Embedded runs in-process: there is nothing remote to test (as in RavenDB).
    testRow.hidden = connector.testable === false;
  }

  connectorSelect.addEventListener('change', () => {
    connector = connectorByKey(connectorSelect.value);
    setFieldError(content, 'Connector', '');
    renderConnectorFields();
  });
  nameInput.addEventListener('input', () => {
    if (identifierFollowsName) identifierInput.value = generateIdentifier(nameInput.value) ?? '';
  });
  identifierInput.addEventListener('input', () => {
    identifierFollowsName = identifierInput.value === '';
    if (content.querySelector('.field[data-field="Identifier"].has-error')) {
      setFieldError(content, 'Identifier', identifierInput.value ? identifierMessage(identifierInput.value) : '');
    }
  });
  identifierInput.addEventListener('blur', () => {
    setFieldError(content, 'Identifier', identifierInput.value ? identifierMessage(identifierInput.value) : '');
  });
  regenerateButton.addEventListener('click', () => {
    identifierInput.value = generateIdentifier(nameInput.value) ?? '';
    identifierFollowsName = true;
    setFieldError(content, 'Identifier', '');
  });

  // Checks what can be checked here; the server checks everything again and names the field.
  function collect() {
    clearFieldErrors(content);
    const problems = [];
    const fail = (name, message) => {
      setFieldError(content, name, message);
      problems.push(name);
    };
    const name = nameInput.value.trim();
    if (!name) fail('Name', 'Enter a name.');
    let identifier = identifierInput.value.trim();
    if (identifier) {
      const message = identifierMessage(identifier);
      if (message) fail('Identifier', message);
    } else {
      identifier = generateIdentifier(name) ?? '';
    }
    if (!connector) fail('Connector', 'Select a connector.');
    const values = {};
    if (connector) {
      const texts = draft[connector.key] ?? {};
      for (const spec of fieldsFor(connector, modelType)) {
        const parsed = parseValue(spec, texts[spec.name]);
        if (parsed.error) fail(`${connector.key}.${spec.name}`, parsed.error);
        else if (spec.required && parsed.value === null) fail(`${connector.key}.${spec.name}`, `${spec.label.replace(/ \(.*\)$/, '')} is required.`);
        else values[spec.name] = parsed.value;
      }
    }
    const batches = parseOptionalInt(batchesInput.value);
    if (batches.error || (batches.value !== null && batches.value < 1)) fail('EmbeddingsMaxConcurrentBatches', 'Enter a whole number of at least 1.');
    const extraValues = extras.values(fail);
    if (problems.length) {
      focusFirstError(content);
      return null;
    }
    return { ...connectionStringJson({ name, identifier, modelType, connector, values, batches: batches.value }),
      ...extraValues };
  }

  // The server names settings fields "HuggingFaceSettings.Model"; "Settings" means the connector.
  function showServerFieldError(error) {
    return showFieldError(content, error, { Settings: 'Connector', AiConnectionString: 'Name' });
  }

  testButton.addEventListener('click', async () => {
    const body = collect();
    if (!body) return;
    testButton.disabled = true;
    replace(testResult, h('p', { class: 'muted row' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), 'Testing the connection…'));
    try {
      const result = await api.post(dbPath(db, '/admin/ai/test-connection'), { body });
      replace(testResult, testResultView(result ?? {}));
      testResult.scrollIntoView({ block: 'nearest' });
    } catch (error) {
      replace(testResult, showServerFieldError(error) ? null : failureView(error.message));
      testResult.scrollIntoView({ block: 'nearest' });
    } finally {
      testButton.disabled = false;
    }
  });

  const usage = usedBy.map((task) => task.Name ?? task.Identifier ?? `task ${task.Id}`);
  const content = h('div', { class: 'form-stack connection-string-form' },
    locked && h('div', { class: 'alert alert-info' }, icon('link'), h('span', {},
      `Used by ${usage.join(', ')}. While a task uses this connection string its model type, connector, model `
      + 'and dimensions cannot change (the stored embeddings depend on them); keys and endpoints can.')),
    field({ label: 'Name', input: nameInput, name: 'Name',
      hint: editing ? 'The name cannot change. To rename, create a new connection string.' : null }),
    field({ label: 'Identifier', input: identifierInput, name: 'Identifier',
      control: h('div', { class: 'input-group' }, identifierInput, regenerateButton),
      hint: "Lower-case letters, digits and '-'. Keys the embeddings cache of this connection string." }),
    h('div', { class: 'field', dataset: { field: 'ModelType' } }, modelTypeLabel, h('div', {}, modelTypeGroup),
      embeddingsOnly && h('p', { class: 'hint' }, 'Embeddings tasks need a text-embeddings model.'),
      h('p', { class: 'field-error', hidden: true })),
    field({ label: 'Connector', input: connectorSelect, name: 'Connector' }),
    connectorFields,
    field({ label: 'Max concurrent query batches', input: batchesInput, name: 'EmbeddingsMaxConcurrentBatches',
      optional: true, hint: 'How many batches of search-term embeddings may run at once for queries.' }),
    extras.element,
    testRow);

  extras.showFor(modelType);
  renderConnectorOptions();
  renderConnectorFields();
  if (!editing) nameInput.setAttribute('autofocus', '');

  return modal({
    title: editing ? `Edit connection string '${existing.Name}'` : 'New AI connection string',
    content, wide: true, submitLabel: 'Save',
    onSubmit: async () => {
      const body = collect();
      if (!body) return KEEP_OPEN;
      try {
        await api.put(dbPath(db, '/admin/connection-strings'), { body });
      } catch (error) {
        if (showServerFieldError(error)) return KEEP_OPEN;
        throw error;
      }
      return body.Name;
    },
  });
}

