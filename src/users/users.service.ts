import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.js';
import { isUniqueViolation } from '../db/database.js';
import { ApiError, detailError } from '../errors.js';
import { isValidEmail } from '../validation.js';
import * as repo from './users.repository.js';
import type { User } from './users.repository.js';

export type { User };

/** A user as the operator sees it (CLI output). */
export interface UserView {
  id: string;
  email: string;
  is_active: boolean;
}

export function viewUser(user: User): UserView {
  return { id: user.id, email: user.email, is_active: user.isActive };
}

export class UsersService {
  constructor(private readonly db: Kysely<Database>) {}

  async createUser(input: { email: string; isActive?: boolean }): Promise<User> {
    const email = input.email.trim();
    if (!isValidEmail(email)) throw new ApiError(400, { email: ['Enter a valid email address.'] });
    try {
      return await repo.insertUser(this.db, email, input.isActive ?? true);
    } catch (error) {
      if (isUniqueViolation(error)) throw new ApiError(400, { email: ['A user with this email already exists.'] });
      throw error;
    }
  }

  listUsers(): Promise<User[]> {
    return repo.listUsers(this.db);
  }

  async getUserByEmail(email: string): Promise<User> {
    const user = await repo.findUserByEmail(this.db, email.trim());
    if (!user) throw detailError(404, `No user has the email ${email.trim()}.`);
    return user;
  }

  async setUserActive(email: string, isActive: boolean): Promise<User> {
    const user = await this.getUserByEmail(email);
    await repo.setUserActive(this.db, user.id, isActive);
    return { ...user, isActive };
  }

  /** The user with this email; created (email only) when `allowCreation` and unknown. */
  async findOrProvisionUser(email: string, allowCreation: boolean): Promise<User | undefined> {
    const existing = await repo.findUserByEmail(this.db, email);
    if (existing || !allowCreation) return existing;
    return repo.insertUserIfAbsent(this.db, email);
  }
}
