// The Studio's entry point: builds the shell, then renders the page the hash names.
import { api, isAbort } from './api.js';
import { h, replace } from './dom.js';
import { closeMenu, installNavigation, refreshDatabaseNames, rememberedDatabase, updateNavigation } from './nav.js';
import { pageHeader } from './page.js';
import { resolve } from './router.js';
import { emptyState, errorState, loading } from './states.js';

const main = document.getElementById('main');
let current = null;

function setTitle(...parts) {
  document.title = [...parts.filter(Boolean), 'rookdb Studio'].join(' · ');
}

async function render() {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const { route, db, params } = resolve(window.location.hash);
  updateNavigation(route?.section ?? null, db);
  closeMenu();
  // Each page draws into its own root: a page still loading after the user moved on writes into a
  // detached element instead of over the next page.
  const root = h('div', { class: 'page' });
  replace(main, root);
  main.scrollTop = 0;
  if (!route) {
    setTitle('Not found');
    replace(root, pageHeader({ title: 'Page not found' }),
      emptyState({ title: 'There is no such page.', text: 'Pick a page from the navigation.', iconName: 'alert',
        action: h('a', { class: 'btn', href: '#/databases' }, 'Go to databases') }));
    return;
  }
  root.append(loading());
  try {
    const page = await route.load();
    if (controller.signal.aborted) return;
    await page.render({ root, db, params, signal: controller.signal, setTitle: (title) => setTitle(title, db) });
    if (!root.contains(document.activeElement)) root.querySelector('h1')?.focus({ preventScroll: true });
  } catch (error) {
    if (isAbort(error) || controller.signal.aborted) return;
    replace(root, errorState(error, render));
  }
}

async function start() {
  installNavigation();
  window.addEventListener('hashchange', render);
  api.get('/build/version').then((version) => {
    document.getElementById('server-version').textContent = version?.FullVersion ?? '';
  }).catch(() => {});
  await refreshDatabaseNames();
  if (!window.location.hash || window.location.hash === '#' || window.location.hash === '#/') {
    const remembered = rememberedDatabase();
    window.history.replaceState(null, '', remembered ? `#/db/${encodeURIComponent(remembered)}/documents`
      : '#/databases');
  }
  await render();
}

start();
