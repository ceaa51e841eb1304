import { describe, expect, it } from 'vitest';
import { Library, LIBRARY_KEY, parseLibrary, type LibraryEntry } from './library.svelte';
import { MemoryStorage } from './test-utils';

const a: LibraryEntry = { id: 'aaa', manageToken: 'tok-a', title: 'first', createdAt: '2026-11-24T08:00:00.000Z' };
const b: LibraryEntry = { id: 'bbb', manageToken: 'tok-b', title: 'second', createdAt: '2026-11-24T09:00:00.000Z' };

describe('Library', () => {
  it('adds newest first and keeps it in storage', () => {
    const storage = new MemoryStorage();
    const lib = new Library(storage);
    lib.add(a);
    lib.add(b);
    expect(lib.entries.map((e) => e.id)).toEqual(['bbb', 'aaa']);
    expect(JSON.parse(storage.getItem(LIBRARY_KEY)!)).toEqual([b, a]);
    expect(new Library(storage).entries).toEqual([b, a]);
    expect(lib.get('aaa')?.manageToken).toBe('tok-a');
  });

  it('replaces an entry with the same id instead of duplicating it', () => {
    const lib = new Library(new MemoryStorage());
    lib.add(a);
    lib.add({ ...a, title: 'renamed' });
    expect(lib.entries).toHaveLength(1);
    expect(lib.entries[0].title).toBe('renamed');
  });

  it('removes', () => {
    const storage = new MemoryStorage();
    const lib = new Library(storage);
    lib.add(a);
    lib.add(b);
    lib.remove('aaa');
    expect(lib.entries.map((e) => e.id)).toEqual(['bbb']);
    expect(new Library(storage).entries.map((e) => e.id)).toEqual(['bbb']);
    lib.remove('nope');
    expect(lib.entries).toHaveLength(1);
  });

  it('renames', () => {
    const lib = new Library(new MemoryStorage());
    lib.add(a);
    lib.rename('aaa', 'better');
    expect(lib.get('aaa')?.title).toBe('better');
  });

  it('a revoked link: the entry keeps its place under the new id', () => {
    const storage = new MemoryStorage();
    const lib = new Library(storage);
    lib.add(a);
    lib.add(b);
    lib.changeId('aaa', 'a2');
    expect(lib.entries.map((e) => e.id)).toEqual(['bbb', 'a2']);
    expect(lib.get('a2')).toEqual({ ...a, id: 'a2' });
    expect(new Library(storage).get('aaa')).toBeUndefined();
    lib.changeId('nope', 'x');
    expect(lib.entries).toHaveLength(2);
  });

  it('one entry per video: the same manage token under another id replaces it', () => {
    const storage = new MemoryStorage();
    const lib = new Library(storage);
    lib.add(a);
    lib.add({ ...a, id: 'a2' });
    expect(lib.entries.map((e) => e.id)).toEqual(['a2']);
    storage.setItem(LIBRARY_KEY, JSON.stringify([b, { ...b, id: 'b-old' }]));
    expect(new Library(storage).entries).toEqual([b]);
  });

  it('sees what another tab wrote (every change starts from storage)', () => {
    const storage = new MemoryStorage();
    const tab1 = new Library(storage);
    const tab2 = new Library(storage);
    tab1.add(a);
    tab2.add(b);
    expect(tab2.entries.map((e) => e.id)).toEqual(['bbb', 'aaa']);
    tab1.reload();
    expect(tab1.entries.map((e) => e.id)).toEqual(['bbb', 'aaa']);
  });

  it('does not crash on corrupt JSON, and keeps the unreadable text aside', () => {
    const storage = new MemoryStorage();
    storage.setItem(LIBRARY_KEY, '{not json');
    const lib = new Library(storage);
    expect(lib.entries).toEqual([]);
    expect(storage.getItem(`${LIBRARY_KEY}.unreadable`)).toBe('{not json');
    lib.add(a);
    expect(new Library(storage).entries).toEqual([a]);
  });

  it('keeps the good entries of a partly broken list', () => {
    const storage = new MemoryStorage();
    storage.setItem(LIBRARY_KEY, JSON.stringify([a, null, 42, { id: 'x' }, { ...b, title: 7 }, a]));
    expect(new Library(storage).entries).toEqual([a, { ...b, title: '' }]);
  });

  it('works in memory when storage is missing, full or denied', () => {
    const none = new Library(null);
    none.add(a);
    expect(none.entries).toEqual([a]);
    expect(none.persistent).toBe(false);

    const full = new MemoryStorage();
    full.failWrites = true;
    const lib = new Library(full);
    expect(() => lib.add(a)).not.toThrow();
    expect(lib.entries).toEqual([a]);

    const denied = new MemoryStorage();
    denied.failAll = true;
    expect(() => new Library(denied).add(b)).not.toThrow();
  });
});

describe('parseLibrary', () => {
  it('reads nothing from nothing', () => {
    expect(parseLibrary(null)).toEqual({ entries: [], corrupt: false });
    expect(parseLibrary('')).toEqual({ entries: [], corrupt: false });
  });
  it('calls non-lists corrupt', () => {
    expect(parseLibrary('{"id":"a"}').corrupt).toBe(true);
    expect(parseLibrary('null').corrupt).toBe(true);
  });
});
