import { describe, expect, it } from 'vitest';
import { match } from './router.svelte';

describe('match', () => {
  it('knows the three pages', () => {
    expect(match('/')).toEqual({ name: 'upload' });
    expect(match('/library')).toEqual({ name: 'library' });
    expect(match('/library/')).toEqual({ name: 'library' });
    expect(match('/v/603890dc34b540aebcc57525ad97e5ff')).toEqual({ name: 'share', id: '603890dc34b540aebcc57525ad97e5ff' });
  });
  it('sends everything else to not found', () => {
    expect(match('/v/')).toEqual({ name: 'not_found' });
    expect(match('/v/a/b')).toEqual({ name: 'not_found' });
    expect(match('/nope')).toEqual({ name: 'not_found' });
    expect(match('/v/%E0%A4%A')).toEqual({ name: 'not_found' });
  });
});
