// rookdb's own connection-string fields, after RavenDB's, for embeddings models: the query and
// document prompts (each sent as null = the model's convention, "" = none, or the custom text), the
// provider's rate limits when the user knows them, and its price per million input tokens. A field left at its default is not sent on a
// new connection string, so the JSON stays the official client's; on an edit it is sent as null
// when it was set before (absent would keep it).
import { h } from './dom.js';
import { field, parseOptionalFloat, parseOptionalInt, select, textInput } from './forms.js';

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

function numberField({ name, label, value, placeholder, hint, parse, check }) {
  const input = textInput({ name, inputmode: 'decimal', placeholder, value: value ?? '' });
  return {
    name,
    check,
    element: field({ label, input, name, optional: true, hint }),
    parse: () => parse(input.value),
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
  const atLeastOne = (value) => (value < 1 ? 'Enter a whole number of at least 1.' : null);
  const numbers = [
    numberField({ name: 'RequestsPerMinute', label: 'Requests per minute', value: existing?.RequestsPerMinute,
      placeholder: 'No limit', parse: parseOptionalInt, check: atLeastOne,
      hint: "The provider's limit, if you know it: tasks never send faster. 429s slow them down anyway." }),
    numberField({ name: 'TokensPerMinute', label: 'Tokens per minute', value: existing?.TokensPerMinute,
      placeholder: 'No limit', parse: parseOptionalInt, check: atLeastOne,
      hint: "The provider's input-token limit, if you know it." }),
    numberField({ name: 'PricePerMillionTokens', label: 'Price per million tokens', value: existing?.PricePerMillionTokens,
      placeholder: 'e.g. 0.02', parse: parseOptionalFloat, check: (value) => (value < 0 ? 'Enter a price of 0 or more.' : null),
      hint: 'What the provider charges per million input tokens: the task stats turn tokens into money spent and saved.' }),
  ];
  const element = h('fieldset', { class: 'form-section extras' }, h('legend', {}, 'Prompts, rate limits and price'),
    prompts.map((prompt) => prompt.element), numbers.map((number) => number.element));
  return {
    element,
    showFor(modelType) {
      element.hidden = modelType !== 'TextEmbeddings';
    },
    // Checks what can be checked here (fail(name, message) marks a field); the server checks again.
    values(fail) {
      if (element.hidden) return {};
      const values = prompts.map((prompt) => [prompt.name, prompt.value()]);
      for (const number of numbers) {
        const parsed = number.parse();
        const problem = parsed.error ?? (parsed.value !== null ? number.check(parsed.value) : null);
        if (problem) fail(number.name, problem);
        else values.push([number.name, parsed.value]);
      }
      return Object.fromEntries(values.filter(([name, value]) => value !== null || wasSet(name)));
    },
  };
}
