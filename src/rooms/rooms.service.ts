import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import { ApiError, NOT_FOUND, SERVICE_UNAVAILABLE, detailError } from '../errors.js';
import { randomDigits, randomLowercase } from '../secrets.js';
import { isUuid } from '../validation.js';
import * as repo from './rooms.repository.js';
import { ACCESS_LEVELS, ROLES, type AccessLevel, type Role, type Room } from './rooms.repository.js';

export { ACCESS_LEVELS, ROLES, type AccessLevel, type Role, type Room };

export const FORBIDDEN = 'You do not have permission to perform this action.';
export const INVALID_PAGE = 'Invalid page.';

/** xxx-xxxx-xxx, lowercase letters: about 1.4e14 slugs. */
export function generateSlug(): string {
  return `${randomLowercase(3)}-${randomLowercase(4)}-${randomLowercase(3)}`;
}

export interface RoomPage {
  count: number;
  rooms: Room[];
}

export class RoomsService {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly config: Pick<Config, 'telephony'>,
    private readonly logger: Logger,
  ) {}

  /**
   * Creates a room owned by the user, in one transaction with its owner access. Slug and
   * PIN collisions are retried with fresh values and never reach the caller.
   */
  async createRoom(input: { ownerId: string; clientId: string | null; accessLevel?: AccessLevel }): Promise<Room> {
    const accessLevel = input.accessLevel ?? 'trusted';
    const attempts = this.config.telephony.pinMaxRetries;
    const room = await this.db.transaction().execute(async (trx) => {
      for (let attempt = 0; attempt < attempts; attempt++) {
        const inserted = await repo.insertRoomUnlessTaken(trx, {
          slug: generateSlug(),
          pinCode: randomDigits(this.config.telephony.pinLength),
          accessLevel,
          createdByClientId: input.clientId,
        });
        if (inserted) {
          await repo.upsertRoomAccess(trx, inserted.id, input.ownerId, 'owner');
          return inserted;
        }
      }
      return undefined;
    });
    if (!room) {
      this.logger.error(
        { event: 'room.pin_exhausted', attempts, pin_length: this.config.telephony.pinLength },
        'no unused slug and PIN found; raise ROOM_TELEPHONY_PIN_LENGTH or ROOM_TELEPHONY_PIN_MAX_RETRIES',
      );
      throw detailError(503, SERVICE_UNAVAILABLE);
    }
    this.logger.info(
      { event: 'room.created', room_id: room.id, user_id: input.ownerId, client_id: input.clientId },
      'room created',
    );
    return room;
  }

  /** The room, when the user holds any role on it. */
  async getRoomForUser(roomId: string, userId: string): Promise<Room> {
    if (!isUuid(roomId)) throw detailError(404, NOT_FOUND);
    const found = await repo.findRoomWithRole(this.db, roomId.toLowerCase(), userId);
    if (!found) throw detailError(404, NOT_FOUND);
    if (found.role === undefined) throw detailError(403, FORBIDDEN);
    return found.room;
  }

  /** One page of the rooms on which the user holds a role; a page past the last is an error. */
  async listRoomsForUser(userId: string, page: number, pageSize: number): Promise<RoomPage> {
    const count = await repo.countRoomsOfUser(this.db, userId);
    const lastPage = Math.max(1, Math.ceil(count / pageSize));
    if (page > lastPage) throw detailError(404, INVALID_PAGE);
    const rooms = count === 0 ? [] : await repo.listRoomsOfUser(this.db, userId, pageSize, (page - 1) * pageSize);
    return { count, rooms };
  }

  listAllRooms(): Promise<Room[]> {
    return repo.listAllRooms(this.db);
  }

  async getRoom(roomId: string): Promise<Room> {
    const room = isUuid(roomId) ? await repo.findRoomById(this.db, roomId.toLowerCase()) : undefined;
    if (!room) throw detailError(404, `No room has the id ${roomId}.`);
    return room;
  }

  async grantRole(roomId: string, userId: string, role: string): Promise<Role> {
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new ApiError(400, { role: [`"${role}" is not a valid choice; roles: ${ROLES.join(', ')}.`] });
    }
    const room = await this.getRoom(roomId);
    await repo.upsertRoomAccess(this.db, room.id, userId, role as Role);
    return role as Role;
  }
}

export function parseAccessLevel(value: string): AccessLevel {
  if (!(ACCESS_LEVELS as readonly string[]).includes(value)) {
    throw new ApiError(400, { access_level: [`"${value}" is not a valid choice; levels: ${ACCESS_LEVELS.join(', ')}.`] });
  }
  return value as AccessLevel;
}
