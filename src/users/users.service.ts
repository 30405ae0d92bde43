import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { isUniqueViolation } from '../db/database.js';
import { ApiError, detailError, oauthError } from '../errors.js';
import type { RoomsRepository } from '../rooms/rooms.repository.js';
import { isValidEmail } from '../validation.js';
import type { User, UserKey, UsersRepository } from './users.repository.js';

export type { User, UserKey };

/** A user as the operator sees it (CLI output). */
export interface UserView {
  id: string;
  email: string | null;
  sub: string | null;
  is_active: boolean;
}

export function viewUser(user: User): UserView {
  return { id: user.id, email: user.email, sub: user.sub, is_active: user.isActive };
}

/** How a user is named in messages: their email, else their sub. */
export function describeUserKey(key: UserKey): string {
  return 'email' in key ? `the email ${key.email}` : `the sub ${key.sub}`;
}

function validEmail(email: string): string {
  const trimmed = email.trim();
  if (!isValidEmail(trimmed)) throw new ApiError(400, { email: ['Enter a valid email address.'] });
  return trimmed;
}

function validSub(sub: string): string {
  const trimmed = sub.trim();
  // eslint-disable-next-line no-control-regex
  if (trimmed === '' || trimmed.length > 255 || /[\u0000-\u001f]/.test(trimmed)) {
    throw new ApiError(400, { sub: ['Give a sub of 1 to 255 characters, without control characters.'] });
  }
  return trimmed;
}

function normalizeKey(key: UserKey): UserKey {
  return 'email' in key ? { email: key.email.trim() } : { sub: key.sub.trim() };
}

/** Meet's rule where several users share an email (the meet layout): none of them is chosen. */
const USER_EXISTS = 'A user with this email or sub already exists.';
const EMAIL_TAKEN = 'A user with this email already exists.';

export const MULTIPLE_USERS = 'Multiple user accounts share a common email.';

export class UsersService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly repos: { users: UsersRepository; rooms: RoomsRepository },
  ) {}

  /** The user the key names; an email shared by several users names none of them (400, as Meet answers). */
  private async lookUp(key: UserKey): Promise<User | undefined> {
    if ('sub' in key) return this.repos.users.findUserBySub(this.db, key.sub);
    const users = await this.repos.users.findUsersByEmail(this.db, key.email);
    if (users.length > 1) throw oauthError(400, MULTIPLE_USERS);
    return users[0];
  }

  /** A user with an email, a sub, or both (at least one). */
  async createUser(input: { email?: string; sub?: string; isActive?: boolean }): Promise<User> {
    if (input.email === undefined && input.sub === undefined) throw new ApiError(400, { email: ['Give an email, a sub, or both.'] });
    const email = input.email === undefined ? null : validEmail(input.email);
    const sub = input.sub === undefined ? null : validSub(input.sub);
    // Where the store lets users share an email (Meet's), a second one would make that email
    // name nobody (see lookUp): refused as the native store's unique index refuses it.
    if (email !== null && (await this.repos.users.findUsersByEmail(this.db, email)).length > 0) throw new ApiError(400, { user: [USER_EXISTS] });
    try {
      return await this.repos.users.insertUser(this.db, { email, sub, isActive: input.isActive ?? true });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError(400, { user: [USER_EXISTS] });
      throw error;
    }
  }

  listUsers(): Promise<User[]> {
    return this.repos.users.listUsers(this.db);
  }

  async getUser(key: UserKey): Promise<User> {
    const normalized = normalizeKey(key);
    const user = await this.lookUp(normalized);
    if (!user) throw detailError(404, `No user has ${describeUserKey(normalized)}.`);
    return user;
  }

  getUserByEmail(email: string): Promise<User> {
    return this.getUser({ email });
  }

  /** Activates or deactivates a user, or gives them an email (operator commands). */
  async updateUser(key: UserKey, changes: { isActive?: boolean; email?: string }): Promise<User> {
    const user = await this.getUser(key);
    const email = changes.email === undefined ? undefined : validEmail(changes.email);
    if (email !== undefined && (await this.repos.users.findUsersByEmail(this.db, email)).some((other) => other.id !== user.id)) {
      throw new ApiError(400, { email: [EMAIL_TAKEN] });
    }
    try {
      await this.repos.users.updateUser(this.db, user.id, { isActive: changes.isActive, email });
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError(400, { email: [EMAIL_TAKEN] });
      throw error;
    }
    return { ...user, ...(email === undefined ? {} : { email }), ...(changes.isActive === undefined ? {} : { isActive: changes.isActive }) };
  }

  setUserActive(email: string, isActive: boolean): Promise<User> {
    return this.updateUser({ email }, { isActive });
  }

  /**
   * Deletes a user and their roles, unless they are the last owner of a room (a room keeps
   * at least one owner): then the refusal names those rooms.
   */
  async deleteUser(key: UserKey): Promise<User> {
    const user = await this.getUser(key);
    await this.db.transaction().execute(async (trx) => {
      await this.repos.rooms.lockRoomsOwnedBy(trx, user.id);
      const owned = await this.repos.rooms.roomsSolelyOwnedBy(trx, user.id);
      if (owned.length > 0) {
        throw new ApiError(400, {
          user: [`${describeUserKey(key)} is the last owner of ${owned.map((r) => `${r.slug} (${r.id})`).join(', ')}: give each room another owner first.`],
        });
      }
      await this.repos.users.deleteUser(trx, user.id);
    });
    return user;
  }

  /** The user with this id, if any (add-on tokens name their user by id; the caller has checked it is a UUID). */
  findUserById(id: string): Promise<Pick<User, 'id' | 'isActive'> | undefined> {
    return this.repos.users.findUserById(this.db, id);
  }

  /** The user with this email; created (email only) when `allowCreation` and unknown. */
  async findOrProvisionUser(email: string, allowCreation: boolean): Promise<User | undefined> {
    return this.findOrCreate({ email }, allowCreation);
  }

  /** The user named by the key; created with only that key when `allowCreation` and unknown (one user however many ask at once). */
  async findOrCreate(key: UserKey, allowCreation: boolean): Promise<User | undefined> {
    const existing = await this.lookUp(key);
    if (existing || !allowCreation) return existing;
    return this.repos.users.insertUserIfAbsent(this.db, key);
  }
}
