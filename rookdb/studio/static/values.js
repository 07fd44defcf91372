// How JSON values are shown in table cells: short, one line, with the full value on hover.
import { h } from './dom.js';

const MAX_CELL_CHARS = 120;

export function cellValue(value) {
  if (value === null || value === undefined) return h('span', { class: 'cell-null' }, 'null');
  if (typeof value === 'object') {
    const text = JSON.stringify(value);
    return h('span', { class: 'cell-value cell-json', title: text.slice(0, 2000) },
      text.length > MAX_CELL_CHARS ? `${text.slice(0, MAX_CELL_CHARS)}…` : text);
  }
  const text = String(value);
  return h('span', { class: 'cell-value', title: text.length > 40 ? text.slice(0, 2000) : undefined }, text);
}

// Columns for a page of documents: top-level properties in first-seen order, metadata left out.
export function columnsOf(items, limit) {
  const columns = [];
  for (const item of items) {
    for (const key of Object.keys(item ?? {})) {
      if (key === '@metadata' || columns.includes(key)) continue;
      columns.push(key);
      if (columns.length >= limit) return columns;
    }
  }
  return columns;
}

export function metadataOf(document) {
  return document?.['@metadata'] ?? {};
}
