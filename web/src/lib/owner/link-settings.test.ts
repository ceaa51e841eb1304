import { describe, expect, it, vi } from 'vitest';
import { ApiError, NetworkError, type LinkUpdate, type Video } from '../api';
import { video } from '../test-utils';
import {
  buildUpdate,
  describeExpiry,
  expiryOptions,
  fieldOfError,
  formOf,
  fromLocalInput,
  LinkSettings,
  ownerErrorMessage,
  REVOKE_MESSAGE,
  toLocalInput,
  viewsLeftText,
  type LinkForm,
} from './link-settings.svelte';

const NOW = new Date('2026-11-24T12:00:00.000Z');

function owner(over: Partial<Video> = {}): Video {
  return video({ status: 'ready', title: 'holiday', passwordProtected: false, expiresAt: null, maxViews: null, viewsLeft: null, ...over });
}

function edit(v: Video, change: Partial<LinkForm>): LinkForm {
  return { ...formOf(v, NOW), ...change };
}

describe('buildUpdate', () => {
  it('sends nothing when nothing changed', () => {
    const v = owner({ passwordProtected: true, expiresAt: '2026-12-01T00:00:00Z', maxViews: 3, viewsLeft: 2 });
    expect(buildUpdate(v, formOf(v, NOW), NOW)).toEqual({ update: {}, errors: {} });
  });

  it('renames (trimmed), and refuses an empty or too long title', () => {
    const v = owner();
    expect(buildUpdate(v, edit(v, { title: '  Summer  ' }), NOW).update).toEqual({ title: 'Summer' });
    expect(buildUpdate(v, edit(v, { title: '   ' }), NOW).errors.title).toBe('Enter a title.');
    expect(buildUpdate(v, edit(v, { title: 'x'.repeat(201) }), NOW).errors.title).toBe('At most 200 characters.');
    expect(buildUpdate(v, edit(v, { title: '🎬'.repeat(200) }), NOW).errors).toEqual({});
  });

  it('turns downloads of the original on and off, and sends nothing when left as it is', () => {
    const off = owner({ allowDownload: false });
    expect(formOf(off, NOW).allowDownload).toBe(false);
    expect(buildUpdate(off, edit(off, { allowDownload: true }), NOW).update).toEqual({ allowDownload: true });
    const on = owner({ allowDownload: true });
    expect(formOf(on, NOW).allowDownload).toBe(true);
    expect(buildUpdate(on, edit(on, {}), NOW).update).toEqual({});
    expect(buildUpdate(on, edit(on, { allowDownload: false }), NOW).update).toEqual({ allowDownload: false });
    // A server that does not say: off, until the owner turns it on.
    const unknown = owner();
    expect(formOf(unknown, NOW).allowDownload).toBe(false);
    expect(buildUpdate(unknown, edit(unknown, {}), NOW).update).toEqual({});
  });

  it('sets, changes, keeps and removes the password', () => {
    const open = owner();
    expect(buildUpdate(open, edit(open, { requirePassword: true, newPassword: 's3cret' }), NOW).update).toEqual({ password: 's3cret' });
    expect(buildUpdate(open, edit(open, { requirePassword: true }), NOW).errors.password).toBe('Enter the password viewers will need.');
    expect(buildUpdate(open, edit(open, { requirePassword: true, newPassword: 'p'.repeat(257) }), NOW).errors.password).toBe('At most 256 characters.');

    const locked = owner({ passwordProtected: true });
    expect(buildUpdate(locked, edit(locked, {}), NOW).update).toEqual({});
    expect(buildUpdate(locked, edit(locked, { newPassword: 'other' }), NOW).update).toEqual({ password: 'other' });
    expect(buildUpdate(locked, edit(locked, { requirePassword: false }), NOW).update).toEqual({ password: null });
  });

  it('expiry: presets from now, never, a date in the future, or unchanged', () => {
    const v = owner();
    const at = (choice: LinkForm['expiry'], customExpiry = '') => buildUpdate(v, edit(v, { expiry: choice, customExpiry }), NOW);
    expect(at('1h').update).toEqual({ expiresAt: '2026-11-24T13:00:00.000Z' });
    expect(at('1d').update).toEqual({ expiresAt: '2026-11-25T12:00:00.000Z' });
    expect(at('7d').update).toEqual({ expiresAt: '2026-12-01T12:00:00.000Z' });
    expect(at('30d').update).toEqual({ expiresAt: '2026-12-24T12:00:00.000Z' });
    expect(at('never').update).toEqual({}); // it never expired
    const future = new Date(NOW.getTime() + 3 * 3600_000);
    expect(at('custom', toLocalInput(future)).update).toEqual({ expiresAt: new Date(toLocalInput(future)).toISOString() });
    expect(at('custom', '').errors.expiry).toBe('Choose a date and a time.');
    expect(at('custom', toLocalInput(new Date(NOW.getTime() - 3600_000))).errors.expiry).toBe('Choose a moment in the future.');

    const expiring = owner({ expiresAt: '2026-12-01T00:00:00Z' });
    expect(buildUpdate(expiring, edit(expiring, { expiry: 'never' }), NOW).update).toEqual({ expiresAt: null });
    expect(buildUpdate(expiring, edit(expiring, { expiry: 'keep' }), NOW).update).toEqual({});
  });

  it('view limit: set, change, remove; never re-sends the same limit (that would restart its count)', () => {
    const v = owner();
    expect(buildUpdate(v, edit(v, { limitViews: true, maxViews: 1 }), NOW).update).toEqual({ maxViews: 1 });
    expect(buildUpdate(v, edit(v, { limitViews: true, maxViews: 0 }), NOW).errors.maxViews).toBe('Enter a whole number of views, 1 or more.');
    expect(buildUpdate(v, edit(v, { limitViews: true, maxViews: 2.5 }), NOW).errors.maxViews).toBeDefined();
    expect(buildUpdate(v, edit(v, { limitViews: true, maxViews: null }), NOW).errors.maxViews).toBeDefined();
    expect(buildUpdate(v, edit(v, { limitViews: false, maxViews: 0 }), NOW)).toEqual({ update: {}, errors: {} });

    const limited = owner({ maxViews: 5, viewsLeft: 3 });
    expect(buildUpdate(limited, edit(limited, {}), NOW).update).toEqual({});
    expect(buildUpdate(limited, edit(limited, { maxViews: 10 }), NOW).update).toEqual({ maxViews: 10 });
    expect(buildUpdate(limited, edit(limited, { limitViews: false }), NOW).update).toEqual({ maxViews: null });
  });

  it('collects every change in one body', () => {
    const v = owner();
    const { update } = buildUpdate(v, edit(v, { title: 'New', requirePassword: true, newPassword: 'pw', expiry: '1h', limitViews: true, maxViews: 2 }), NOW);
    expect(update).toEqual({ title: 'New', password: 'pw', expiresAt: '2026-11-24T13:00:00.000Z', maxViews: 2 });
  });
});

describe('formOf and the words', () => {
  it('fills the form from the settings', () => {
    expect(formOf(owner(), NOW)).toMatchObject({ title: 'holiday', requirePassword: false, expiry: 'never', limitViews: false, maxViews: 1 });
    expect(formOf(owner({ passwordProtected: true, expiresAt: '2026-12-01T00:00:00Z', maxViews: 4 }), NOW)).toMatchObject({
      requirePassword: true,
      newPassword: '',
      expiry: 'keep',
      limitViews: true,
      maxViews: 4,
    });
  });

  it('offers "unchanged" only when there is an expiry to keep', () => {
    expect(expiryOptions(null).map((o) => o.value)).toEqual(['never', '1h', '1d', '7d', '30d', 'custom']);
    expect(expiryOptions('2026-12-01T00:00:00Z')[0]).toMatchObject({ value: 'keep' });
  });

  it('says when the link expires and how many views are left', () => {
    expect(describeExpiry(null, NOW)).toBe('The link never expires.');
    expect(describeExpiry('2026-11-24T11:00:00Z', NOW)).toBe('The link has expired.');
    expect(describeExpiry('2026-12-01T00:00:00Z', NOW)).toMatch(/^The link stops working on .*2026/);
    expect(viewsLeftText(null)).toBe('');
    expect(viewsLeftText(1)).toBe('1 view left');
    expect(viewsLeftText(3)).toBe('3 views left');
    expect(viewsLeftText(0)).toBe('0 views left');
  });

  it('reads and writes datetime-local values in local time', () => {
    const d = new Date(2026, 11, 1, 14, 30);
    expect(toLocalInput(d)).toBe('2026-12-01T14:30');
    expect(fromLocalInput('2026-12-01T14:30')?.getTime()).toBe(d.getTime());
    expect(fromLocalInput('2026-02-31T10:00')).toBeNull();
    expect(fromLocalInput('tomorrow')).toBeNull();
  });

  it('maps refusals to their fields and explains failures', () => {
    expect(fieldOfError('invalid_title')).toBe('title');
    expect(fieldOfError('invalid_password')).toBe('password');
    expect(fieldOfError('invalid_expiry')).toBe('expiry');
    expect(fieldOfError('invalid_max_views')).toBe('maxViews');
    expect(fieldOfError('bad_request')).toBe('form');
    expect(ownerErrorMessage(new ApiError(403, 'forbidden', 'x'))).toContain('not accepted, so nothing was changed');
    expect(ownerErrorMessage(new ApiError(404, 'not_found', 'x'))).toContain('does not exist any more');
    expect(ownerErrorMessage(new NetworkError())).toContain('Could not reach the server');
    expect(REVOKE_MESSAGE).toBe('The current link will stop working for everyone. A new link is made.');
  });
});

function fakeApi(start: Video) {
  let server = { ...start };
  return {
    get server() {
      return server;
    },
    video: vi.fn(async (_id: string, _signal?: AbortSignal, _token?: string | null) => ({ ...server })),
    updateVideo: vi.fn(async (_id: string, _token: string, update: LinkUpdate) => {
      if (update.title === 'bad') throw new ApiError(400, 'invalid_title', 'The title is too long.');
      server = {
        ...server,
        ...(update.title !== undefined ? { title: update.title } : {}),
        ...(update.password !== undefined ? { passwordProtected: update.password !== null } : {}),
        ...(update.expiresAt !== undefined ? { expiresAt: update.expiresAt } : {}),
        ...(update.maxViews !== undefined ? { maxViews: update.maxViews, viewsLeft: update.maxViews } : {}),
        ...(update.allowDownload !== undefined
          ? { allowDownload: update.allowDownload, downloadUrl: update.allowDownload ? `/v/${server.id}/download` : null }
          : {}),
      };
      return { ...server };
    }),
    revokeLink: vi.fn(async (_id: string, _token: string) => ({
      id: 'new1',
      url: '/v/new1',
      statusUrl: '/api/video/new1',
      streamUrl: '/streams/new1/master.m3u8',
      thumbnailUrl: '/thumbnails/new1.jpg',
    })),
    unlock: vi.fn(async (_id: string, _password: string | null, _token?: string | null) => {}),
  };
}

describe('LinkSettings', () => {
  const owned = { id: 'old1', manageToken: 'tok' };

  it('loads the owner view with the manage token and fills the form', async () => {
    const api = fakeApi(owner({ maxViews: 3, viewsLeft: 2 }));
    const s = new LinkSettings(() => owned, { api, now: () => NOW });
    await s.load();
    expect(api.video).toHaveBeenCalledWith('old1', undefined, 'tok');
    expect(s.form).toMatchObject({ title: 'holiday', limitViews: true, maxViews: 3 });
    expect(s.viewsLeftText).toBe('2 views left');
  });

  it('saves only what changed, refills the form from the answer, and unlocks this browser with a new password', async () => {
    const api = fakeApi(owner());
    const onSaved = vi.fn();
    const s = new LinkSettings(() => owned, { api, now: () => NOW, onSaved });
    await s.load();
    s.form.title = 'Renamed';
    s.form.requirePassword = true;
    s.form.newPassword = 'pw';
    s.form.limitViews = true;
    s.form.maxViews = 1;
    expect(await s.save()).toBe(true);
    expect(api.updateVideo).toHaveBeenCalledWith('old1', 'tok', { title: 'Renamed', password: 'pw', maxViews: 1 });
    expect(api.unlock).toHaveBeenCalledWith(expect.any(String), null, 'tok');
    expect(s.savedMessage).toBe('Saved.');
    expect(s.form).toMatchObject({ title: 'Renamed', requirePassword: true, newPassword: '', limitViews: true, maxViews: 1 });
    expect(s.viewsLeftText).toBe('1 view left');
    expect(onSaved).toHaveBeenCalledWith(expect.objectContaining({ title: 'Renamed', passwordProtected: true }));

    // Nothing more changed: no request.
    expect(await s.save()).toBe(true);
    expect(api.updateVideo).toHaveBeenCalledTimes(1);
  });

  it('saves the download switch and refills the form from the answer', async () => {
    const api = fakeApi(owner({ allowDownload: false }));
    const onSaved = vi.fn();
    const s = new LinkSettings(() => owned, { api, now: () => NOW, onSaved });
    await s.load();
    s.form.allowDownload = true;
    expect(await s.save()).toBe(true);
    expect(api.updateVideo).toHaveBeenCalledWith('old1', 'tok', { allowDownload: true });
    expect(api.unlock).not.toHaveBeenCalled();
    expect(s.form.allowDownload).toBe(true);
    expect(onSaved).toHaveBeenCalledWith(expect.objectContaining({ allowDownload: true, downloadUrl: expect.stringContaining('/download') }));

    api.updateVideo.mockRejectedValueOnce(new ApiError(400, 'bad_request', 'Downloads are turned off on this server.'));
    s.form.allowDownload = false;
    expect(await s.save()).toBe(false);
    expect(s.errors).toEqual({ form: 'Downloads are turned off on this server.' });
  });

  it('shows what is wrong next to the field, before or after asking the server', async () => {
    const api = fakeApi(owner());
    const s = new LinkSettings(() => owned, { api, now: () => NOW });
    await s.load();
    s.form.title = '';
    expect(await s.save()).toBe(false);
    expect(s.errors).toEqual({ title: 'Enter a title.' });
    expect(api.updateVideo).not.toHaveBeenCalled();

    s.form.title = 'bad';
    expect(await s.save()).toBe(false);
    expect(s.errors).toEqual({ title: 'The title is too long.' });
    expect(s.savedMessage).toBe('');

    s.clearError('title');
    expect(s.errors).toEqual({});
    s.clearError('title');

    api.updateVideo.mockRejectedValueOnce(new ApiError(403, 'forbidden', 'Forbidden.'));
    s.form.title = 'fine';
    expect(await s.save()).toBe(false);
    expect(s.errors.form).toContain('was not accepted');
    expect(s.saving).toBe(false);
  });

  it('revokes: the new link, and the video lives on under the new id', async () => {
    const api = fakeApi(owner());
    const onRevoked = vi.fn();
    let current = { ...owned };
    const s = new LinkSettings(() => current, { api, now: () => NOW, onRevoked: (a, b) => (onRevoked(a, b), (current = { ...current, id: b })) });
    await s.load();
    expect(await s.revoke()).toBe(true);
    expect(api.revokeLink).toHaveBeenCalledWith('old1', 'tok');
    expect(s.newLinkId).toBe('new1');
    expect(s.current?.id).toBe('new1');
    expect(s.current?.streamUrl).toBe('/streams/new1/master.m3u8');
    expect(onRevoked).toHaveBeenCalledWith('old1', 'new1');

    // The next change goes to the new id.
    s.form.title = 'after';
    await s.save();
    expect(api.updateVideo).toHaveBeenLastCalledWith('new1', 'tok', { title: 'after' });

    api.revokeLink.mockRejectedValueOnce(new ApiError(401, 'unauthorized', 'x'));
    expect(await s.revoke()).toBe(false);
    expect(s.revokeError).toContain('the link was not changed');
  });

  it('says when the settings cannot be loaded', async () => {
    const api = fakeApi(owner());
    api.video.mockRejectedValueOnce(new NetworkError());
    const s = new LinkSettings(() => owned, { api, now: () => NOW });
    await s.load();
    expect(s.current).toBeNull();
    expect(s.loadError).toContain('Could not reach the server');
    expect(await s.save()).toBe(false);
  });
});
