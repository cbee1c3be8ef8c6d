/**
 * The signed-in person as the dashboard knows them: the answer of `GET /me`, kept in one
 * reactive object so the shell, the guards and every page read the same permissions.
 * (The dashboard is a browser-only SPA, so module state is per tab and never shared.)
 */
import type { AccountDto, MeDto, MeUpdate, PermissionKey, RolePreviewDto, SessionProbeDto } from '@rolecall/contracts';
import { api, isSignedOutError, setReadOnly } from './api';

/** A read-only preview of the dashboard as a role (issue 17 §4): the role and its keys. */
type Preview = RolePreviewDto & { returnTo: string };

class Session {
  me = $state<MeDto | null>(null);

  /**
   * While set, the dashboard shows itself as a holder of this role would see it, read-only. Kept in
   * this tab's memory only: a reload or a new tab ends it (see the README, "Preview the dashboard").
   */
  preview = $state<Preview | null>(null);

  // Through a string, which only notifies when the keys themselves change: every `GET /me` replaces
  // `me`, and whatever asked `can()` (an effect that loads a page's data, for one) would otherwise
  // run again for a session that holds exactly what it held (issue 21).
  #keyList = $derived((this.me?.permissions.keys ?? []).join(' '));
  #keys = $derived(new Set<string>(this.#keyList ? this.#keyList.split(' ') : []));
  #previewKeys = $derived(new Set<string>(this.preview?.keys ?? []));

  /**
   * Whether the signed-in member currently holds a permission in the current account — the one
   * check every menu, page and button asks. While previewing a role it answers only `view` keys
   * that the role grants AND the signed-in member holds: the nav and pages are the role's, every
   * action is hidden, and nothing is shown that the viewer's own session could not load anyway.
   */
  can(key: PermissionKey): boolean {
    if (!this.#keys.has(key)) return false;
    if (!this.preview) return true;
    return key.endsWith('.view') && this.#previewKeys.has(key);
  }

  /** The keys "what I can do" describes: the previewed role's while previewing, one's own otherwise. */
  get keys(): readonly string[] {
    return this.preview?.keys ?? this.me?.permissions.keys ?? [];
  }

  startPreview(preview: Preview): void {
    this.preview = preview;
    setReadOnly(`You are previewing the dashboard as ${preview.role.name}: nothing can be changed.`);
  }

  /** A live edit of the previewed role (its keys as a holder would now hold them). */
  updatePreview(role: Preview['role'], keys: PermissionKey[]): void {
    if (this.preview?.role.id === role.id) this.preview = { ...this.preview, role, keys };
  }

  endPreview(): string | null {
    const returnTo = this.preview?.returnTo ?? null;
    this.preview = null;
    setReadOnly(null);
    return returnTo;
  }

  /** Moves on every `clear()`: a read of the session that left before it is from a session that ended. */
  #epoch = 0;

  /** What a read of the session takes with it, to hand back to `set()`. */
  get epoch(): number {
    return this.#epoch;
  }

  /**
   * A read of the session (`loadMe`), begun at `epoch`. One that left before the session was cleared
   * (signed out, revoked, ended) is dropped: answered 200 while the session still stood, it signed
   * the tab back in after `me.revoked`, which took the reason off the screen and reconnected, to be
   * refused (live-stale-read.spec; scim.spec once under load). One that left before a change and
   * came back after the change's live push (`me.updated`, `me.permissions`) is older than what the
   * tab shows: it is dropped, not allowed to put the old role back (the live store reads the session
   * on every connection, so this happened when a role changed during the handshake). Another member
   * (a new sign-in) always replaces.
   */
  set(me: MeDto, epoch: number): void {
    if (epoch !== this.#epoch) return;
    const current = this.me;
    const older =
      current !== null &&
      current.member.id === me.member.id &&
      (me.member.version < current.member.version || me.permissions.version < current.permissions.version);
    if (!older) this.me = me;
  }

  /** A live `me.permissions` push: newer versions replace the set (and the role) at once. */
  applyPermissions(push: { version: number; roleId: string | null; keys: ReadonlySet<PermissionKey> }): void {
    if (!this.me || push.version < this.me.permissions.version) return;
    const roleId = push.roleId ?? this.me.member.role.id;
    this.me = {
      ...this.me,
      permissions: { version: push.version, keys: [...push.keys] },
      member: {
        ...this.me.member,
        role: roleId === this.me.member.role.id ? this.me.member.role : { ...this.me.member.role, id: roleId },
      },
    };
  }

  /** `me.updated` (or an account event about the viewer): the member record or their role's name and icon. */
  applyUpdate(update: MeUpdate): void {
    const me = this.me;
    if (!me) return;
    if ('member' in update) {
      // A member no longer active is being signed out (`me.revoked`): nothing to show meanwhile.
      if (
        update.member.id !== me.member.id ||
        update.member.version < me.member.version ||
        update.member.status !== 'active'
      )
        return;
      this.me = { ...me, member: update.member };
    } else if (update.role.id === me.member.role.id) {
      this.me = {
        ...me,
        member: { ...me.member, role: { ...me.member.role, name: update.role.name, icon: update.role.icon } },
      };
    }
  }

  /** The account as an `account.updated` event carries it. */
  applyAccount(account: AccountDto): void {
    const me = this.me;
    if (!me || account.id !== me.account.id || account.version < me.account.version) return;
    this.me = { ...me, account };
  }

  clear(): void {
    this.#epoch += 1;
    this.me = null;
    this.endPreview();
  }
}

export const session = new Session();

/** The one screen an enrolment-only session may see (the account requires 2FA, the person has none). */
export const ENROLMENT_PATH = '/enrol-2fa';

/**
 * Where a signed-in member starts: the 2FA enrolment screen while the session is limited to it,
 * else the member list if they may see it, their own page otherwise.
 */
export function homePath(me: MeDto): '/users' | '/me' | typeof ENROLMENT_PATH {
  if (me.twoFactorEnrolmentRequired) return ENROLMENT_PATH;
  return me.permissions.keys.includes('users.view') ? '/users' : '/me';
}

/**
 * Loads the signed-in person into the session. Resolves to `null` when nobody is signed in (or the
 * session ended); any other failure is thrown. Asks `GET /auth/session`, which is `GET /me` that
 * answers a signed-out visitor 200 `{ signedIn: false }` instead of 401: public pages (an invitation,
 * a mailed link, `/`) find out who is signed in without a failed request in the console.
 */
export async function loadMe(fetcher: typeof fetch = fetch): Promise<MeDto | null> {
  const epoch = session.epoch;
  try {
    const probe = await api.get<SessionProbeDto>('/auth/session', { fetch: fetcher, quietAuth: true });
    if (!probe.signedIn) {
      session.clear();
      return null;
    }
    session.set(probe.me, epoch);
    return probe.me;
  } catch (error) {
    if (isSignedOutError(error)) {
      session.clear();
      return null;
    }
    throw error;
  }
}
