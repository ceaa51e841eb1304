// "My videos": what this browser uploaded, with the manage tokens, kept in localStorage.
// There is no server-side listing; losing this storage loses the ability to delete.

export interface LibraryEntry {
  id: string;
  manageToken: string;
  title: string;
  createdAt: string;
}

export const LIBRARY_KEY = 'flick.library.v1';

function isEntry(x: unknown): x is LibraryEntry {
  if (!x || typeof x !== 'object') return false;
  const e = x as Record<string, unknown>;
  return typeof e.id === 'string' && e.id.length > 0 && typeof e.manageToken === 'string' && e.manageToken.length > 0;
}

/** Reads the stored list; anything unreadable yields what could be salvaged (maybe nothing), never a throw. */
export function parseLibrary(raw: string | null): { entries: LibraryEntry[]; corrupt: boolean } {
  if (raw == null || raw === '') return { entries: [], corrupt: false };
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return { entries: [], corrupt: true };
  }
  if (!Array.isArray(data)) return { entries: [], corrupt: true };
  const seen = new Set<string>();
  const tokens = new Set<string>();
  const entries: LibraryEntry[] = [];
  for (const item of data) {
    // One entry per video: the same manage token is the same video (under an older link).
    if (!isEntry(item) || seen.has(item.id) || tokens.has(item.manageToken)) continue;
    seen.add(item.id);
    tokens.add(item.manageToken);
    entries.push({
      id: item.id,
      manageToken: item.manageToken,
      title: typeof item.title === 'string' ? item.title : '',
      createdAt: typeof item.createdAt === 'string' ? item.createdAt : '',
    });
  }
  return { entries, corrupt: entries.length !== data.length };
}

/** `localStorage`, or null where it is unavailable (some private modes, sandboxed frames). */
export function browserStorage(kind: 'local' | 'session' = 'local'): Storage | null {
  try {
    const s = kind === 'local' ? globalThis.localStorage : globalThis.sessionStorage;
    if (!s) return null;
    const probe = '__flick_probe__';
    s.setItem(probe, '1');
    s.removeItem(probe);
    return s;
  } catch {
    return null;
  }
}

export class Library {
  entries = $state<LibraryEntry[]>([]);
  /** False when the browser does not let us keep anything (the upload still works). */
  readonly persistent: boolean;

  constructor(private readonly storage: Storage | null = browserStorage('local')) {
    this.persistent = storage !== null;
    this.entries = this.read();
  }

  /** Re-reads storage (another tab may have changed it). */
  reload(): void {
    this.entries = this.read();
  }

  get(id: string): LibraryEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }

  /** Adds (or replaces) a video, newest first. */
  add(entry: LibraryEntry): void {
    const current = this.read().filter((e) => e.id !== entry.id && e.manageToken !== entry.manageToken);
    this.write([{ ...entry }, ...current]);
  }

  /** Changes a stored title (the API knows the real one). */
  rename(id: string, title: string): void {
    const current = this.read();
    const entry = current.find((e) => e.id === id);
    if (!entry || entry.title === title) return;
    entry.title = title;
    this.write(current);
  }

  /** The video's link was revoked: it lives on under its new id, in the same place of the list. */
  changeId(oldId: string, newId: string): void {
    const current = this.read();
    const entry = current.find((e) => e.id === oldId);
    if (!entry || oldId === newId) return;
    entry.id = newId;
    this.write(current.filter((e) => e === entry || e.id !== newId));
  }

  remove(id: string): void {
    this.write(this.read().filter((e) => e.id !== id));
  }

  private read(): LibraryEntry[] {
    if (!this.storage) return this.entries ?? [];
    let raw: string | null = null;
    try {
      raw = this.storage.getItem(LIBRARY_KEY);
    } catch {
      return this.entries ?? [];
    }
    const { entries, corrupt } = parseLibrary(raw);
    if (corrupt && raw != null) {
      // Keep what could not be read (it may hold manage tokens) instead of silently losing it.
      try {
        this.storage.setItem(`${LIBRARY_KEY}.unreadable`, raw);
      } catch {
        // full or unavailable: nothing more to do
      }
    }
    return entries;
  }

  private write(entries: LibraryEntry[]): void {
    this.entries = entries;
    if (!this.storage) return;
    try {
      this.storage.setItem(LIBRARY_KEY, JSON.stringify(entries));
    } catch {
      // Quota exceeded or storage disabled: the list lives on in memory for this page.
    }
  }
}
