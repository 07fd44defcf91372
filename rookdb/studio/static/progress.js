// Embeddings-task progress from GET /ai/tasks/progress, shared by the task list and the stats.
import { api, dbPath } from './api.js';
import { formatNumber, h } from './dom.js';
import { progressBar } from './states.js';

export const REFRESH_MS = 2000;

// The endpoint answers a list of per-task entries; accept it bare or wrapped in an object.
export function progressEntries(body) {
  if (Array.isArray(body)) return body;
  if (!body || typeof body !== 'object') return [];
  for (const key of ['Results', 'Tasks', 'Progress']) {
    if (Array.isArray(body[key])) return body[key];
  }
  return Object.values(body).find(Array.isArray) ?? [];
}

export async function loadProgress(db, signal) {
  return progressEntries(await api.get(dbPath(db, '/ai/tasks/progress'), { signal }));
}

export function progressFor(entries, taskId, name) {
  return entries.find((entry) => entry.TaskId === taskId) ?? entries.find((entry) => entry.Name === name) ?? null;
}

export function fractionDone(entry) {
  if (!entry) return 0;
  const total = entry.DocumentsTotal ?? 0;
  if (total <= 0) return (entry.DocumentsProcessed ?? 0) > 0 ? 1 : 0;
  return Math.min(1, (entry.DocumentsProcessed ?? 0) / total);
}

export function healthBadge(entry) {
  const health = entry?.Health;
  if (!health) return null;
  const kind = { Healthy: 'badge-success', Impaired: 'badge-warning', Failed: 'badge-danger' }[health] ?? '';
  return h('span', { class: ['badge', kind] }, health);
}

// A migration to another connection string: the generation being built beside the serving one.
export function migrationView(entry) {
  const migration = entry?.Migration;
  if (!migration) return null;
  const fraction = fractionDone(migration);
  const percent = Math.round(fraction * 100);
  return h('div', { class: 'task-progress task-migration', dataset: { percent, generation: migration.Generation } },
    progressBar(fraction, `Migration to ${migration.ConnectionStringName}`),
    h('span', { class: 'task-progress-label' },
      `Migrating to ${migration.ConnectionStringName}: ${percent}% · ${formatNumber(migration.DocumentsProcessed ?? 0)}/`
      + `${formatNumber(migration.DocumentsTotal ?? 0)} · queries use ${entry.ServingConnectionStringName}`));
}

export function progressView(entry, taskName) {
  if (!entry) return h('div', { class: 'task-progress' }, h('span', { class: 'faint' }, 'No progress yet'));
  const fraction = fractionDone(entry);
  const percent = Math.round(fraction * 100);
  const current = h('div', { class: 'task-progress', dataset: { percent } },
    progressBar(fraction, `${taskName} progress`),
    h('span', { class: 'task-progress-label' },
      `${percent}% · ${formatNumber(entry.DocumentsProcessed ?? 0)}/${formatNumber(entry.DocumentsTotal ?? 0)}`));
  const migration = migrationView(entry);
  return migration ? h('div', { class: 'stack-sm' }, current, migration) : current;
}
