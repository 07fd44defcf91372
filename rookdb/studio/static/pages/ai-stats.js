// AI Hub → Stats: per-task progress, throughput over time, cache hit rate, provider calls and
// tokens, refreshed every few seconds while the page is open.
import { isAbort } from '../api.js';
import { barChart, lineChart } from '../charts.js';
import { formatDate, formatNumber, h, replace } from '../dom.js';
import { icon } from '../icons.js';
import { pageHeader } from '../page.js';
import { fractionDone, healthBadge, loadProgress, progressView } from '../progress.js';
import { href } from '../router.js';
import { emptyState, errorState, loading } from '../states.js';

const REFRESH_MS = 3000;

function stat(label, value) {
  return h('div', { class: 'stat', dataset: { stat: label } },
    h('span', { class: 'stat-label' }, label), h('span', { class: 'stat-value' }, value));
}

function percent(part, whole) {
  return whole > 0 ? `${Math.round((part / whole) * 100)}%` : '—';
}

// Documents per second between consecutive samples of the history.
function throughputPoints(history) {
  const points = [];
  for (let index = 1; index < history.length; index += 1) {
    const seconds = (history[index].t - history[index - 1].t) / 1000;
    if (seconds <= 0) continue;
    points.push({ t: history[index].t, v: Math.max(0, (history[index].processed - history[index - 1].processed) / seconds) });
  }
  return points;
}

function money(value) {
  return typeof value === 'number' ? value.toLocaleString('en-US', { maximumFractionDigits: 4, minimumFractionDigits: 2 }) : null;
}

// Tokens, ≈ when some of them are estimated (length / 4) rather than reported or counted.
function tokens(count, estimated) {
  return `${estimated ? '≈ ' : ''}${formatNumber(count ?? 0)}`;
}

// What the task spent: today, in total, against its daily budget, and a chart by day.
function costSection(entry) {
  const usage = entry.Usage;
  if (!usage) return null;
  const today = usage.Today ?? {};
  const total = usage.Total ?? {};
  const budget = entry.DailyTokenBudget;
  return h('div', { class: 'stack-sm cost' },
    h('div', { class: 'stat-grid' },
      stat('Tokens today', tokens(today.Tokens, today.EstimatedTokens)),
      money(today.Spent) && stat('Spent today', money(today.Spent)),
      stat('Tokens saved today', tokens(today.TokensSaved, today.EstimatedTokensSaved)),
      money(today.Saved) && stat('Saved today', money(today.Saved)),
      budget !== null && budget !== undefined && stat('Budget left today',
        `${formatNumber(entry.BudgetRemainingToday ?? 0)} / ${formatNumber(budget)}`),
      stat('Tokens in total', tokens(total.Tokens, total.EstimatedTokens)),
      money(total.Spent) && stat('Spent in total', money(total.Spent))),
    barChart({ title: 'Tokens by day', format: (value) => formatNumber(Math.round(value)),
      series: [{ name: 'sent', variant: '' }, { name: 'saved by the cache', variant: 'alt' }],
      bars: (usage.Days ?? []).map((day) => ({ label: day.Day, values: [day.Tokens ?? 0, day.TokensSaved ?? 0] })) }));
}

// Both generations while the task moves to another connection string.
function generationsSection(entry) {
  const migration = entry.Migration;
  if (!migration) return null;
  return h('div', { class: 'stack-sm generations', dataset: { generation: migration.Generation } },
    h('h3', { class: 'card-subtitle' }, 'Generations'),
    h('div', { class: 'stat-grid' },
      stat('Serving', `generation ${entry.Generation ?? 0} · ${entry.ServingConnectionStringName ?? ''}`),
      stat('Building', `generation ${migration.Generation} · ${migration.ConnectionStringName}`),
      stat('Built', `${formatNumber(migration.DocumentsProcessed ?? 0)} / ${formatNumber(migration.DocumentsTotal ?? 0)}`),
      stat('Building state', migration.State ?? '—'),
      stat('Chunks (new)', formatNumber(migration.Chunks ?? 0)),
      stat('Cache hits (new)', formatNumber(migration.CacheHits ?? 0)),
      stat('Provider calls (new)', formatNumber(migration.ProviderCalls ?? 0)),
      stat('Tokens (new)', formatNumber(migration.Tokens ?? 0))),
    h('p', { class: 'hint' }, `Queries use generation ${entry.Generation ?? 0} until generation ${migration.Generation} `
      + 'covers every document; then they swap at once and the old embeddings are removed.'));
}

function taskCard(db, entry) {
  const history = (entry.History ?? [])
    .map((sample) => ({ t: Date.parse(sample.At), processed: sample.DocumentsProcessed ?? 0 }))
    .filter((sample) => Number.isFinite(sample.t))
    .sort((a, b) => a.t - b.t);
  const chunks = entry.Chunks ?? 0;
  const cacheHits = entry.CacheHits ?? 0;
  const throughput = typeof entry.ThroughputPerSecond === 'number' ? entry.ThroughputPerSecond.toFixed(1) : '—';
  const throttle = entry.Throttle;
  return h('section', { class: 'card task-stats', dataset: { task: entry.Name } },
    h('div', { class: 'toolbar' },
      h('h2', { class: 'card-title' }, entry.Name),
      entry.Identifier && h('span', { class: 'badge' }, entry.Identifier),
      healthBadge(entry),
      entry.State && h('span', { class: 'badge' }, entry.State),
      h('span', { class: 'spacer' }),
      entry.ConnectionStringName && h('span', { class: 'muted' }, icon('plug', { size: 14 }), ' ', entry.ConnectionStringName)),
    progressView(entry, entry.Name),
    h('div', { class: 'stat-grid' },
      stat('Documents', `${formatNumber(entry.DocumentsProcessed ?? 0)} / ${formatNumber(entry.DocumentsTotal ?? 0)}`),
      stat('Complete', `${Math.round(fractionDone(entry) * 100)}%`),
      stat('Chunks', formatNumber(chunks)),
      stat('Cache hit rate', percent(cacheHits, chunks)),
      stat('Cache hits', formatNumber(cacheHits)),
      stat('Provider calls', formatNumber(entry.ProviderCalls ?? 0)),
      stat('Tokens', formatNumber(entry.Tokens ?? 0)),
      stat('Docs / second', throughput),
      throttle && stat('Concurrency', `${formatNumber(throttle.Concurrency)} / ${formatNumber(throttle.MaxConcurrency)}`),
      throttle && stat('Rate limited', formatNumber(throttle.RateLimited ?? 0))),
    entry.FallbackUntil && h('div', { class: 'alert alert-warning' }, icon('alert'),
      h('span', {}, `Paused after provider failures; retrying at ${formatDate(entry.FallbackUntil)}.`)),
    entry.State === 'BudgetExhausted' && h('div', { class: 'alert alert-warning' }, icon('clock'),
      h('span', {}, `The daily token budget of ${formatNumber(entry.DailyTokenBudget ?? 0)} is spent; the task resumes at `
        + `${entry.BudgetResumesAt ? formatDate(entry.BudgetResumesAt) : 'the start of the next day (UTC)'} or when the budget is raised.`)),
    entry.State === 'Throttled' && h('div', { class: 'alert alert-info' }, icon('clock'),
      h('span', {}, `The provider asked to slow down; sending again in ${(throttle?.WaitRemainingSeconds ?? 0).toFixed(1)} s.`)),
    entry.LastError && h('div', { class: 'alert alert-error' }, icon('alert'),
      h('div', { class: 'alert-body' }, h('strong', {}, 'Last error'),
        h('span', {}, typeof entry.LastError === 'string' ? entry.LastError : entry.LastError.Message ?? JSON.stringify(entry.LastError)),
        h('a', { href: href('ai/errors', db) }, 'See all errors'))),
    generationsSection(entry),
    costSection(entry),
    h('div', { class: 'chart-grid' },
      lineChart({ title: 'Documents processed', points: history.map((sample) => ({ t: sample.t, v: sample.processed })),
        format: (value) => formatNumber(Math.round(value)) }),
      lineChart({ title: 'Throughput (documents / second)', points: throughputPoints(history), variant: 'alt',
        format: (value) => (value >= 10 ? Math.round(value).toString() : value.toFixed(1)) })));
}

export async function render({ root, db, signal, setTitle }) {
  setTitle('AI Stats');
  let paused = false;
  const live = h('span', { class: 'muted live-status' });
  const pause = h('button', { class: 'btn', type: 'button', 'aria-pressed': 'false' });
  const body = h('div', { class: 'stack' }, loading('Loading task statistics…'));
  function renderLive() {
    replace(live, paused ? 'Paused' : [h('span', { class: 'live-dot', 'aria-hidden': 'true' }), `Live, every ${REFRESH_MS / 1000} s`]);
    replace(pause, paused ? 'Resume' : 'Pause');
    pause.setAttribute('aria-pressed', String(paused));
  }
  pause.addEventListener('click', () => {
    paused = !paused;
    renderLive();
    if (!paused) load();
  });
  renderLive();
  replace(root, pageHeader({ title: 'AI Tasks Stats', actions: [live, pause],
    subtitle: 'Progress and throughput of the embeddings generation tasks.',
    crumbs: [[db, href('documents', db)], ['AI Hub', null]] }), body);

  async function load() {
    try {
      const entries = await loadProgress(db, signal);
      if (entries.length === 0) {
        replace(body, h('div', { class: 'card' }, emptyState({ title: 'No AI tasks to report on', iconName: 'chart',
          text: 'Statistics appear here once an embeddings generation task exists.',
          action: h('a', { class: 'btn', href: href('ai/tasks/new', db) }, icon('plus'), 'Add AI task') })));
        return;
      }
      replace(body, entries.map((entry) => taskCard(db, entry)));
    } catch (error) {
      if (!isAbort(error)) replace(body, errorState(error, load));
    }
  }
  await load();
  const timer = window.setInterval(() => {
    if (!paused) load();
  }, REFRESH_MS);
  signal.addEventListener('abort', () => window.clearInterval(timer));
}
