// A tiny client-side router over the History API for the pages the server serves index.html for.

export type Route =
  | { name: 'upload' }
  | { name: 'share'; id: string }
  /** The player alone, for an `<iframe>` on another site. */
  | { name: 'embed'; id: string }
  | { name: 'library' }
  | { name: 'not_found' };

/** State we put in `history.state` when navigating. */
export interface NavState {
  /** The share page was opened right after an upload from this browser: start playing, muted. */
  justUploaded?: boolean;
  /** A sentence for the page we land on (e.g. after a delete), shown once. */
  notice?: string;
}

export function match(pathname: string): Route {
  const path = pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname;
  if (path === '/' || path === '' || path === '/index.html') return { name: 'upload' };
  if (path === '/library') return { name: 'library' };
  const m = /^\/(v|embed)\/([^/]+)$/.exec(path);
  if (m) {
    let id: string;
    try {
      id = decodeURIComponent(m[2]);
    } catch {
      return { name: 'not_found' };
    }
    return { name: m[1] === 'v' ? 'share' : 'embed', id };
  }
  return { name: 'not_found' };
}

export class Router {
  route = $state<Route>({ name: 'upload' });
  state = $state<NavState>({});
  /** Bumped on every navigation, so pages keyed on it remount even for the same route. */
  version = $state(0);

  constructor() {
    this.sync();
    window.addEventListener('popstate', () => this.sync());
    document.addEventListener('click', (e) => this.onClick(e));
  }

  navigate(path: string, state: NavState = {}, replace = false): void {
    if (replace) history.replaceState(state, '', path);
    else history.pushState(state, '', path);
    this.sync();
    window.scrollTo(0, 0);
  }

  /**
   * Changes the address in place, without a new page (the shown video got a new link): the page stays
   * mounted and sees the new route.
   */
  rewrite(path: string): void {
    history.replaceState(history.state, '', path);
    this.route = match(location.pathname);
  }

  /** Forgets the navigation flags of the current entry (so a reload does not act on them again). */
  consumeState(): void {
    history.replaceState({}, '', location.href);
  }

  private sync(): void {
    this.route = match(location.pathname);
    const s = history.state as NavState | null;
    this.state = s && typeof s === 'object' ? { ...s } : {};
    this.version++;
  }

  /** Same-origin links to our pages navigate without a page load. */
  private onClick(e: MouseEvent): void {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.('a');
    if (!a || a.target || a.hasAttribute('download') || a.dataset.native !== undefined) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin) return;
    if (match(url.pathname).name === 'not_found') return;
    e.preventDefault();
    if (url.pathname + url.search === location.pathname + location.search) return;
    this.navigate(url.pathname + url.search);
  }
}
