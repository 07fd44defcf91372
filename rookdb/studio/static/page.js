// The heading block every page starts with: breadcrumbs, title, subtitle and the page's actions.
import { h } from './dom.js';

export function pageHeader({ title, subtitle = null, actions = [], crumbs = [] }) {
  return h('header', { class: 'page-header' },
    h('div', { class: 'page-heading' },
      crumbs.length > 0 && h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' },
        h('ol', {}, crumbs.map(([text, link]) => h('li', {}, link ? h('a', { href: link }, text) : text)))),
      h('h1', { tabindex: '-1' }, title),
      subtitle && h('p', { class: 'page-subtitle' }, subtitle)),
    h('div', { class: 'page-actions' }, actions));
}

export function card(title, ...children) {
  return h('section', { class: 'card' },
    title && h('h2', { class: 'card-title' }, title),
    children);
}
