import { describe, expect, it, vi } from 'vitest';
import { AdminListing, ADMIN_TOKEN_KEY } from './admin.svelte';
import { ApiError } from './api';
import { MemoryStorage, video } from './test-utils';

describe('AdminListing', () => {
  it('lists with the right token and keeps it in the given (session) storage', async () => {
    const storage = new MemoryStorage();
    const adminVideos = vi.fn(async () => [video()]);
    const m = new AdminListing(storage, { adminVideos });
    await m.load('  secret-token  ');
    expect(adminVideos).toHaveBeenCalledWith('secret-token', 100, 0);
    expect(m.videos).toHaveLength(1);
    expect(storage.getItem(ADMIN_TOKEN_KEY)).toBe('secret-token');
    expect(new AdminListing(storage, { adminVideos }).hasSavedToken).toBe(true);
  });

  it('says "Wrong token." on 404 and forgets it', async () => {
    const storage = new MemoryStorage();
    storage.setItem(ADMIN_TOKEN_KEY, 'old');
    const m = new AdminListing(storage, {
      adminVideos: async () => {
        throw new ApiError(404, 'not_found', 'Not found.');
      },
    });
    await m.load('nope');
    expect(m.error).toBe('Wrong token.');
    expect(m.videos).toBeNull();
    expect(storage.getItem(ADMIN_TOKEN_KEY)).toBeNull();
  });

  it('asks for a token when none is given', async () => {
    const adminVideos = vi.fn();
    const m = new AdminListing(new MemoryStorage(), { adminVideos });
    await m.load('   ');
    expect(m.error).toBe('Enter the admin token.');
    expect(adminVideos).not.toHaveBeenCalled();
  });
});
