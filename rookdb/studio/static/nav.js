// The left navigation and the database switcher: both follow the current route's database.
import { api } from './api.js';
import { h, replace } from './dom.js';
import { icon } from './icons.js';
import { SECTION_PATHS, href, navigate } from './router.js';

const LAST_DATABASE_KEY = 'rookdb.studio.database';

const DATABASE_ENTRIES = [
  { section: 'documents', label: 'Documents', iconName: 'documents' },
  { section: 'query', label: 'Query', iconName: 'query' },
  { section: 'indexes', label: 'Indexes', iconName: 'index' },
];
const AI_HUB_ENTRIES = [
  { section: 'ai-connection-strings', label: 'AI Connection Strings', iconName: 'plug' },
  { section: 'ai-tasks', label: 'AI Tasks', iconName: 'tasks' },
  { section: 'ai-stats', label: 'Stats', iconName: 'chart' },
  { section: 'ai-errors', label: 'Errors', iconName: 'alert' },
];

let databaseNames = [];
let state = { section: null, db: undefined };

export function rememberedDatabase() {
  return window.localStorage.getItem(LAST_DATABASE_KEY) ?? undefined;
}

function navLink(link, label, iconName, current) {
  return h('a', { class: 'nav-link', href: link, 'aria-current': current ? 'page' : undefined },
    icon(iconName), h('span', {}, label));
}

function renderSidebar() {
  const { section, db } = state;
  const sidebar = document.getElementById('sidebar');
  const entries = (list) => list.map(({ section: target, label, iconName }) =>
    navLink(href(SECTION_PATHS[target], db), label, iconName, target === section));
  replace(sidebar,
    h('div', { class: 'nav-group' },
      navLink('#/databases', 'Databases', 'database', section === 'databases')),
    db
      ? [
        h('div', { class: 'nav-group' },
          h('p', { class: 'nav-heading', title: db }, db),
          entries(DATABASE_ENTRIES)),
        h('div', { class: 'nav-group' },
          h('p', { class: 'nav-heading nav-heading-hub' }, icon('hub', { size: 14 }), 'AI Hub'),
          entries(AI_HUB_ENTRIES)),
      ]
      : h('p', { class: 'nav-hint' }, 'Open a database to browse its documents, run queries and manage AI.'));
}

function renderSwitcher() {
  const switcher = document.getElementById('db-switcher');
  const names = [...databaseNames];
  if (state.db && !names.some((name) => name.toLowerCase() === state.db.toLowerCase())) names.push(state.db);
  replace(switcher,
    h('option', { value: '', disabled: true }, names.length ? 'Select a database…' : 'No databases'),
    names.map((name) => h('option', { value: name }, name)));
  switcher.value = state.db ?? '';
}

export function updateNavigation(section, db) {
  const remembered = db ?? rememberedDatabase();
  if (db) window.localStorage.setItem(LAST_DATABASE_KEY, db);
  state = { section, db: db ?? (remembered && databaseNames.includes(remembered) ? remembered : undefined) };
  renderSidebar();
  renderSwitcher();
}

export async function refreshDatabaseNames() {
  try {
    const result = await api.get('/databases', { query: { namesOnly: true } });
    databaseNames = result?.Databases ?? [];
  } catch {
    databaseNames = [];
  }
  const remembered = rememberedDatabase();
  if (remembered && !databaseNames.includes(remembered)) window.localStorage.removeItem(LAST_DATABASE_KEY);
  updateNavigation(state.section, window.location.hash.startsWith('#/db/') ? state.db : undefined);
}

function setMenuOpen(open) {
  document.body.classList.toggle('nav-open', open);
  document.getElementById('menu-toggle').setAttribute('aria-expanded', String(open));
  document.getElementById('scrim').hidden = !open;
}

export function closeMenu() {
  setMenuOpen(false);
}

export function installNavigation() {
  const toggle = document.getElementById('menu-toggle');
  toggle.append(icon('menu', { size: 18 }));
  toggle.addEventListener('click', () => setMenuOpen(!document.body.classList.contains('nav-open')));
  document.getElementById('scrim').addEventListener('click', closeMenu);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && document.body.classList.contains('nav-open')) closeMenu();
  });
  document.getElementById('db-switcher').addEventListener('change', (event) => {
    const db = event.target.value;
    const section = SECTION_PATHS[state.section] ? state.section : 'documents';
    navigate(href(SECTION_PATHS[section], db));
  });
  window.addEventListener('studio:databases-changed', refreshDatabaseNames);
}
