// rookdb's own connection-string fields, after RavenDB's, for embeddings models: the query and
// document prompts (each sent as null = the model's convention, "" = none, or the custom text) and
// the provider's rate limits when the user knows them. A field left at its default is not sent on a
// new connection string, so the JSON stays the official client's; on an edit it is sent as null
// when it was set before (absent would keep it).
import { h } from './dom.js';
import { field, parseOptionalInt, select, textInput } from './forms.js';

const PROMPT_MODES = [['convention', "Model's convention"], ['none', 'None'], ['custom', 'Custom']];

function promptField({ name, label, value, hint }) {
  const mode = select(PROMPT_MODES, { value: value === null || value === undefined ? 'convention' : value === '' ? 'none' : 'custom' });
  mode.name = name;
  const text = textInput({ name: `${name}Text`, value: value ?? '', placeholder: 'e.g. query: ', 'aria-label': `${label} text`,
    maxlength: 1000 });
  const sync = () => { text.hidden = mode.value !== 'custom'; };
  mode.addEventListener('change', sync);
  sync();
  return {
    name,
    element: field({ label, input: mode, control: h('div', { class: 'input-group' }, mode, text), name, optional: true, hint }),
    value: () => (mode.value === 'convention' ? null : mode.value === 'none' ? '' : text.value),
  };
}

function countField({ name, label, value, placeholder, hint }) {
  const input = textInput({ name, inputmode: 'numeric', placeholder, value: value ?? '' });
  return {
    name,
    element: field({ label, input, name, optional: true, hint }),
    parse: () => parseOptionalInt(input.value),
  };
}

// The extra fields of a connection string (``existing`` when editing); ``values()`` gives the
// top-level JSON keys to send with RavenDB's own.
export function connectionStringExtras(existing) {
  const wasSet = (name) => existing?.[name] !== null && existing?.[name] !== undefined;
  const prompts = [
    promptField({ name: 'QueryPrompt', label: 'Query prompt', value: existing?.QueryPrompt,
      hint: 'Put before every search term. Asymmetric models (E5, BGE, nomic-embed…) have a convention; Test Connection shows it.' }),
    promptField({ name: 'DocumentPrompt', label: 'Document prompt', value: existing?.DocumentPrompt,
      hint: 'Put before every text a task embeds. Locked while a task uses this connection string.' }),
  ];
  const limits = [
    countField({ name: 'RequestsPerMinute', label: 'Requests per minute', value: existing?.RequestsPerMinute,
      placeholder: 'No limit', hint: "The provider's limit, if you know it: tasks never send faster. 429s slow them down anyway." }),
    countField({ name: 'TokensPerMinute', label: 'Tokens per minute', value: existing?.TokensPerMinute,
      placeholder: 'No limit', hint: "The provider's input-token limit, if you know it." }),
  ];
  const element = h('fieldset', { class: 'form-section extras' }, h('legend', {}, 'Prompts and rate limits'),
    prompts.map((prompt) => prompt.element), limits.map((limit) => limit.element));
  return {
    element,
    showFor(modelType) {
      element.hidden = modelType !== 'TextEmbeddings';
    },
    // Checks what can be checked here (fail(name, message) marks a field); the server checks again.
    values(fail) {
      if (element.hidden) return {};
      const values = prompts.map((prompt) => [prompt.name, prompt.value()]);
      for (const limit of limits) {
        const parsed = limit.parse();
        if (parsed.error || (parsed.value !== null && parsed.value < 1)) fail(limit.name, 'Enter a whole number of at least 1.');
        else values.push([limit.name, parsed.value]);
      }
      return Object.fromEntries(values.filter(([name, value]) => value !== null || wasSet(name)));
    },
  };
}
