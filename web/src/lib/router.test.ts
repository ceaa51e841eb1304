import { describe, expect, it } from 'vitest';
import { match } from './router.svelte';

describe('match', () => {
  it('knows the three pages', () => {
    expect(match('/')).toEqual({ name: 'upload' });
    expect(match('/library')).toEqual({ name: 'library' });
    expect(match('/library/')).toEqual({ name: 'library' });
    expect(match('/v/603890dc34b540aebcc57525ad97e5ff')).toEqual({ name: 'share', id: '603890dc34b540aebcc57525ad97e5ff' });
  });
  it('knows the embeddable player', () => {
    expect(match('/embed/603890dc34b540aebcc57525ad97e5ff')).toEqual({ name: 'embed', id: '603890dc34b540aebcc57525ad97e5ff' });
    expect(match('/embed/abc/')).toEqual({ name: 'embed', id: 'abc' });
    expect(match('/embed/a%20b')).toEqual({ name: 'embed', id: 'a b' });
    expect(match('/embed/')).toEqual({ name: 'not_found' });
    expect(match('/embed')).toEqual({ name: 'not_found' });
    expect(match('/embed/a/b')).toEqual({ name: 'not_found' });
    expect(match('/embed/%E0%A4%A')).toEqual({ name: 'not_found' });
    expect(match('/embedded/abc')).toEqual({ name: 'not_found' });
  });
  it('sends everything else to not found', () => {
    expect(match('/v/')).toEqual({ name: 'not_found' });
    expect(match('/v/a/b')).toEqual({ name: 'not_found' });
    expect(match('/nope')).toEqual({ name: 'not_found' });
    expect(match('/v/%E0%A4%A')).toEqual({ name: 'not_found' });
  });
});
