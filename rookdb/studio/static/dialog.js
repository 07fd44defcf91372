// Modal dialogs on the native <dialog>: focus stays inside, Esc cancels, Enter submits the form.
import { h, uniqueId } from './dom.js';
import { icon } from './icons.js';

// Returned by onSubmit to keep the dialog open without showing an error (e.g. field errors shown).
export const KEEP_OPEN = Symbol('keep-open');

export function modal({ title, content, submitLabel = 'Save', danger = false, wide = false, onSubmit,
  extraActions = null, describedBy }) {
  return new Promise((resolve) => {
    const titleId = uniqueId('dialog-title');
    const opener = document.activeElement;
    let busy = false;
    const alertBox = h('div', { class: 'alert alert-error', role: 'alert', hidden: true });
    const submit = h('button', { class: ['btn', danger ? 'btn-danger' : 'btn-primary'], type: 'submit' },
      submitLabel);
    const form = h('form', { class: 'dialog-form', novalidate: true },
      h('header', { class: 'dialog-header' },
        h('h2', { id: titleId }, title),
        h('button', { class: 'btn btn-ghost btn-icon', type: 'button', 'aria-label': 'Close',
          on: { click: () => finish(null) } }, icon('close'))),
      h('div', { class: 'dialog-body' }, content, alertBox),
      h('footer', { class: 'dialog-footer' },
        extraActions,
        h('span', { class: 'spacer' }),
        h('button', { class: 'btn', type: 'button', on: { click: () => finish(null) } }, 'Cancel'),
        submit));
    const dialog = h('dialog', { class: ['dialog', wide && 'dialog-wide'], 'aria-labelledby': titleId,
      'aria-describedby': describedBy }, form);

    function finish(value) {
      if (!dialog.open) return;
      dialog.close();
      dialog.remove();
      if (opener instanceof HTMLElement && opener.isConnected) opener.focus();
      resolve(value);
    }

    function showError(error) {
      alertBox.replaceChildren(icon('alert'), h('span', {}, error?.message ?? String(error)));
      alertBox.hidden = false;
    }

    // Esc: the browser fires "cancel"; close through finish() so the promise settles.
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      finish(null);
    });
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (busy) return;
      busy = true;
      submit.disabled = true;
      alertBox.hidden = true;
      try {
        const result = onSubmit ? await onSubmit({ form, showError }) : true;
        if (result !== KEEP_OPEN) finish(result ?? true);
      } catch (error) {
        showError(error);
      } finally {
        busy = false;
        submit.disabled = false;
      }
    });
    document.body.append(dialog);
    dialog.showModal();
    const first = dialog.querySelector('[autofocus], .dialog-body input:not([readonly]), .dialog-body select, '
      + '.dialog-body textarea, .dialog-footer .btn-primary, .dialog-footer .btn-danger');
    first?.focus();
  });
}

export function confirmDialog({ title, message, confirmLabel = 'Delete', danger = true, action }) {
  const text = h('p', { class: 'dialog-message', id: uniqueId('confirm') }, message);
  return modal({ title, content: text, submitLabel: confirmLabel, danger, onSubmit: action,
    describedBy: text.id });
}
