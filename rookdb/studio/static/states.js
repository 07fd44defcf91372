// The three non-data states every page shows the same way: loading, empty and failed.
import { h } from './dom.js';
import { icon } from './icons.js';

export function loading(text = 'Loading…') {
  return h('div', { class: 'state state-loading', role: 'status' },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', {}, text));
}

export function emptyState({ title, text, action = null, iconName = 'documents' }) {
  return h('div', { class: 'state state-empty' },
    h('span', { class: 'state-icon' }, icon(iconName, { size: 28 })),
    h('p', { class: 'state-title' }, title),
    text && h('p', { class: 'state-text' }, text),
    action);
}

export function errorState(error, onRetry) {
  return h('div', { class: 'state state-error', role: 'alert' },
    h('span', { class: 'state-icon' }, icon('alert', { size: 28 })),
    h('p', { class: 'state-title' }, 'Something went wrong'),
    h('p', { class: 'state-text' }, error?.message ?? String(error)),
    onRetry && h('button', { class: 'btn', type: 'button', on: { click: onRetry } }, icon('refresh'), 'Retry'));
}

export function progressBar(fraction, label) {
  const percent = Math.max(0, Math.min(100, Math.round((fraction || 0) * 100)));
  return h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': 0, 'aria-valuemax': 100,
    'aria-valuenow': percent, 'aria-label': label },
  h('div', { class: ['progress-bar', percent === 100 && 'progress-done'], style: { width: `${percent}%` } }));
}
