// Labelled form fields with a hint and an inline error slot, addressed by the server's field name
// (e.g. "HuggingFaceSettings.Model"), so a 400 with {"Field": ...} lands next to the right input.
import { h, uniqueId } from './dom.js';
import { icon } from './icons.js';

export function field({ label, input, control = input, name, hint = null, optional = false, wide = false,
  className }) {
  input.id ||= uniqueId('field');
  const errorId = `${input.id}-error`;
  const hintId = hint ? `${input.id}-hint` : null;
  input.setAttribute('aria-describedby', [hintId, errorId].filter(Boolean).join(' '));
  return h('div', { class: ['field', wide && 'field-wide', className], dataset: name ? { field: name } : {} },
    h('label', { for: input.id }, label, optional && h('span', { class: 'optional' }, 'optional')),
    control,
    hint && h('p', { class: 'hint', id: hintId }, hint),
    h('p', { class: 'field-error', id: errorId, hidden: true }));
}

export function textInput(props = {}) {
  return h('input', { type: 'text', autocomplete: 'off', spellcheck: false, ...props });
}

export function select(options, { value, ...props } = {}) {
  const el = h('select', props, options.map(([optionValue, text]) => h('option', { value: optionValue }, text)));
  if (value !== undefined && value !== null) el.value = value;
  return el;
}

// A password-style input with an explicit Show/Hide toggle (secrets are masked by default).
export function secretInput(props = {}) {
  const id = props.id ?? uniqueId('secret');
  const input = textInput({ ...props, id, type: 'password', class: 'secret-input' });
  const toggle = h('button', { class: 'btn btn-sm secret-toggle', type: 'button', 'aria-pressed': 'false',
    'aria-controls': id, on: { click: () => reveal(input.type === 'password') } });
  function reveal(shown) {
    input.type = shown ? 'text' : 'password';
    toggle.setAttribute('aria-pressed', String(shown));
    toggle.replaceChildren(icon(shown ? 'eyeOff' : 'eye', { size: 14 }), shown ? 'Hide' : 'Show');
  }
  reveal(false);
  return { input, control: h('div', { class: 'input-group' }, input, toggle) };
}

// A masked multi-line secret (service-account JSON): hidden behind "Show credentials".
export function secretTextarea(props = {}) {
  const id = props.id ?? uniqueId('secret');
  const input = h('textarea', { rows: 6, spellcheck: false, class: 'code masked', ...props, id });
  const toggle = h('button', { class: 'btn btn-sm', type: 'button', 'aria-pressed': 'false', 'aria-controls': id,
    on: { click: () => reveal(input.classList.contains('masked')) } });
  function reveal(shown) {
    input.classList.toggle('masked', !shown);
    toggle.setAttribute('aria-pressed', String(shown));
    toggle.replaceChildren(icon(shown ? 'eyeOff' : 'eye', { size: 14 }),
      shown ? 'Hide credentials' : 'Show credentials');
  }
  reveal(false);
  return { input, control: h('div', { class: 'stack-sm' }, input, h('div', {}, toggle)) };
}

export function setFieldError(root, name, message) {
  const wrapper = [...root.querySelectorAll('.field[data-field]')].find((el) => el.dataset.field === name);
  if (!wrapper) return false;
  const error = wrapper.querySelector('.field-error');
  const control = wrapper.querySelector('input, select, textarea');
  error.textContent = message;
  error.hidden = !message;
  wrapper.classList.toggle('has-error', Boolean(message));
  control?.setAttribute('aria-invalid', message ? 'true' : 'false');
  return true;
}

export function clearFieldErrors(root) {
  for (const wrapper of root.querySelectorAll('.field.has-error')) {
    setFieldError(root, wrapper.dataset.field, '');
  }
}

export function focusFirstError(root) {
  root.querySelector('.field.has-error input, .field.has-error select, .field.has-error textarea')?.focus();
}

// The field the server named, or the closest one shown: "X.ChunkingOptions" lands on the first
// field inside it, "X.ContextPrefix" (not in the form) on X's nearest shown parent.
export function setClosestFieldError(root, name, message) {
  const names = [...root.querySelectorAll('.field[data-field]')].map((el) => el.dataset.field);
  let candidate = name;
  while (candidate) {
    const target = names.find((each) => each === candidate) ?? names.find((each) => each.startsWith(`${candidate}.`));
    if (target) return setFieldError(root, target, message);
    candidate = candidate.includes('.') ? candidate.slice(0, candidate.lastIndexOf('.')) : '';
  }
  return false;
}

// Route a server error to its field when the body names one; otherwise let the caller show it.
export function showFieldError(root, error, aliases = {}) {
  if (!error?.field) return false;
  for (const name of [error.field, aliases[error.field]].filter(Boolean)) {
    if (setClosestFieldError(root, name, error.fieldMessage)) {
      focusFirstError(root);
      return true;
    }
  }
  return false;
}

export function parseOptionalInt(text) {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') return { value: null };
  const value = Number(trimmed);
  return Number.isInteger(value) ? { value } : { error: 'Enter a whole number.' };
}

export function parseOptionalFloat(text) {
  const trimmed = (text ?? '').trim();
  if (trimmed === '') return { value: null };
  const value = Number(trimmed);
  return Number.isFinite(value) ? { value } : { error: 'Enter a number.' };
}
