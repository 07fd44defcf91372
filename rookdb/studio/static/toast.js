// Short-lived notices for the outcome of an action; errors stay longer and can be dismissed.
import { h } from './dom.js';
import { icon } from './icons.js';

const SUCCESS_MS = 3500;
const ERROR_MS = 9000;

export function toast(message, kind = 'success') {
  const region = document.getElementById('toasts');
  const close = () => item.remove();
  const item = h('div', { class: ['toast', `toast-${kind}`], role: kind === 'error' ? 'alert' : 'status' },
    icon(kind === 'error' ? 'alert' : 'check'),
    h('span', { class: 'toast-text' }, message),
    h('button', { class: 'btn btn-ghost btn-icon btn-sm', type: 'button', 'aria-label': 'Dismiss',
      on: { click: close } }, icon('close', { size: 14 })));
  region.append(item);
  setTimeout(close, kind === 'error' ? ERROR_MS : SUCCESS_MS);
  return item;
}

export const toastError = (message) => toast(message, 'error');
