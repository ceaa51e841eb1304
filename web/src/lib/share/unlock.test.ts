import { describe, expect, it, vi } from 'vitest';
import { ApiError, NetworkError } from '../api';
import { EMPTY_PASSWORD, tooManyTriesMessage, UnlockForm, unlockErrorMessage, WRONG_PASSWORD } from './unlock.svelte';

function form(results: Array<Error | undefined>, now = { t: 1_000_000 }) {
  const unlock = vi.fn(async (_id: string, _password: string | null) => {
    const next = results.shift();
    if (next) throw next;
  });
  const f = new UnlockForm(() => 'vid', { api: { unlock }, now: () => now.t });
  return { f, unlock, now };
}

describe('UnlockForm', () => {
  it('sends the password for the video and clears it once unlocked', async () => {
    const { f, unlock } = form([undefined]);
    f.password = 'hunter2';
    expect(await f.submit()).toBe(true);
    expect(unlock).toHaveBeenCalledWith('vid', 'hunter2');
    expect(f.error).toBe('');
    expect(f.password).toBe('');
    expect(f.busy).toBe(false);
  });

  it('says "Wrong password" and empties the field', async () => {
    const { f } = form([new ApiError(401, 'wrong_password', 'The password is wrong.'), undefined]);
    f.password = 'nope';
    expect(await f.submit()).toBe(false);
    expect(f.error).toBe(WRONG_PASSWORD);
    expect(f.password).toBe('');
    f.password = 'right';
    expect(await f.submit()).toBe(true);
    expect(f.error).toBe('');
  });

  it('does not send an empty password', async () => {
    const { f, unlock } = form([]);
    expect(await f.submit()).toBe(false);
    expect(f.error).toBe(EMPTY_PASSWORD);
    expect(unlock).not.toHaveBeenCalled();
  });

  it('after too many tries: says how long to wait, and does not spend a try before then', async () => {
    const now = { t: 1_000_000 };
    const { f, unlock } = form([new ApiError(429, 'too_many_attempts', 'Too many attempts.', 30), undefined], now);
    f.password = 'guess';
    expect(await f.submit()).toBe(false);
    expect(f.error).toBe('Too many tries; try again in 30 s');
    expect(f.waitSeconds).toBe(30);
    now.t += 12_500;
    f.password = 'again';
    expect(await f.submit()).toBe(false);
    expect(f.error).toBe('Too many tries; try again in 18 s');
    expect(unlock).toHaveBeenCalledTimes(1);
    now.t += 18_000;
    expect(f.waitSeconds).toBe(0);
    expect(await f.submit()).toBe(true);
    expect(unlock).toHaveBeenCalledTimes(2);
  });

  it('ignores a second submit while one is on its way', async () => {
    let release!: () => void;
    const unlock = vi.fn(() => new Promise<void>((r) => (release = r)));
    const f = new UnlockForm(() => 'vid', { api: { unlock } });
    f.password = 'pw';
    const first = f.submit();
    expect(f.busy).toBe(true);
    expect(await f.submit()).toBe(false);
    release();
    expect(await first).toBe(true);
    expect(unlock).toHaveBeenCalledTimes(1);
  });
});

describe('unlockErrorMessage', () => {
  it('explains each failure', () => {
    expect(unlockErrorMessage(new ApiError(401, 'wrong_password', 'x'))).toBe(WRONG_PASSWORD);
    expect(unlockErrorMessage(new ApiError(429, 'too_many_attempts', 'x', null))).toBe('Too many tries; try again in 60 s');
    expect(unlockErrorMessage(new ApiError(404, 'not_found', 'x'))).toBe('This video does not exist or was deleted.');
    expect(unlockErrorMessage(new NetworkError())).toContain('Could not reach the server');
    expect(unlockErrorMessage('?')).toBe('The video could not be unlocked. Try again.');
    expect(tooManyTriesMessage(0.2)).toBe('Too many tries; try again in 1 s');
  });
});
