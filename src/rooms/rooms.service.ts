import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { LogSink } from '../logger.js';
import type { Config } from '../config.js';
import type { Database } from '../db/schema.js';
import { ApiError, NOT_FOUND, SERVICE_UNAVAILABLE, detailError } from '../errors.js';
import { randomDigits, randomLowercase } from '../secrets.js';
import { emailLookupKey, isUuid } from '../validation.js';
import { checkInput } from '../input-validation.js';
import { RoomCreateSchema, RoomUpdateSchema, type AdmissionDecision, type AdmissionRequest, type RoomConfiguration, type RoomCreate, type RoomUpdate } from './rooms.schemas.js';
import { ACCESS_LEVELS, ROLES, type AccessLevel, type Role, type Room as RoomRecord, type RoomKey, type RoomsRepository } from './rooms.repository.js';

export { ACCESS_LEVELS, ROLES, type AccessLevel, type Role };

/** A room with its attendee list, as every answer shows it. */
export type Room = RoomRecord & { attendees: string[] };

export const FORBIDDEN = 'You do not have permission to perform this action.';
export const INVALID_PAGE = 'Invalid page.';
export const NOT_CREATED_BY_APPLICATION = 'This room was not created by this application.';
export const NOT_OWNER = 'Only the owner of the room can delete it.';
/** The meet layout: recordings are files in Meet's object storage, which only Meet deletes. */
export const HAS_RECORDINGS = 'This room has recordings; delete them in Meet first.';
/** The largest offset a page may start at: exact in a double, and far below both databases' 64-bit limit. */
const MAX_OFFSET = Number.MAX_SAFE_INTEGER;
export const PUBLIC_ROOMS_DISABLED = 'Public rooms are disabled for the external API.';

/**
 * What a slug may look like: ours are `xxx-xxxx-xxx`, but beside Meet (the meet layout) a
 * room named in Meet's web app has the slug Meet derived from its name (Django's slugify:
 * lowercase letters, digits, `-` and `_`, at most 100 characters).
 */
const SLUG = /^[a-z0-9_-]{1,100}$/;

/** A path segment naming a room: its UUID or its slug; anything else names nothing. */
export function parseRoomKey(idOrSlug: string): RoomKey | undefined {
  if (isUuid(idOrSlug)) return { id: idOrSlug.toLowerCase() };
  const slug = idOrSlug.toLowerCase();
  return SLUG.test(slug) ? { slug } : undefined;
}

/**
 * An attendee list without repeats: entries that differ only in case are one attendee,
 * written as first given. (The entries were validated against RoomUpdateSchema already.)
 */
export function distinctAttendees(emails: readonly string[]): string[] {
  const seen = new Set<string>();
  return emails.filter((email) => {
    const key = emailLookupKey(email);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

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
    private readonly repo: RoomsRepository,
    private readonly config: Pick<Config, 'telephony' | 'externalApi'>,
    private readonly logger: Logger,
  ) {}

  /**
   * Refuses a public room asked through the API while the deployment keeps public rooms
   * out of it (unless public is its default anyway).
   */
  private checkApiAccessLevel(accessLevel: AccessLevel | undefined): void {
    const { defaultAccessLevel, allowPublicAccess } = this.config.externalApi;
    if (accessLevel === 'public' && !allowPublicAccess && defaultAccessLevel !== 'public') {
      throw new ApiError(400, { access_level: [PUBLIC_ROOMS_DISABLED] });
    }
  }

  /**
   * Creates a room through the API: the options asked (or the deployment's default access
   * level), the delegated user as owner, the calling application (or service) recorded.
   */
  async createRoomForApplication(ownerId: string, clientId: string, options: RoomCreate, log?: LogSink): Promise<Room> {
    this.checkApiAccessLevel(options.access_level);
    return this.createRoom({
      ownerId,
      clientId,
      accessLevel: options.access_level ?? this.config.externalApi.defaultAccessLevel,
      configuration: options.configuration ?? {},
      log,
    });
  }

  /** Creates a room for an operator (command line): any access level; the options checked as the API checks them. */
  async createRoomAsOperator(ownerId: string, options: Record<string, unknown>): Promise<Room> {
    const checked = checkInput(RoomCreateSchema, options);
    return this.createRoom({ ownerId, clientId: null, accessLevel: checked.access_level, configuration: checked.configuration ?? {} });
  }

  /**
   * Creates a room owned by the user, in one transaction with its owner access. Slug and
   * PIN collisions are retried with fresh values and never reach the caller.
   */
  /** `log`: where the audit line goes (the request's logger carries its request id). */
  async createRoom(input: {
    ownerId: string;
    clientId: string | null;
    accessLevel?: AccessLevel;
    configuration?: RoomConfiguration;
    log?: LogSink;
  }): Promise<Room> {
    const log = input.log ?? this.logger;
    const accessLevel = input.accessLevel ?? 'trusted';
    const configuration = input.configuration ?? {};
    const attempts = this.config.telephony.pinMaxRetries;
    const room = await this.db.transaction().execute(async (trx) => {
      for (let attempt = 0; attempt < attempts; attempt++) {
        const inserted = await this.repo.insertRoomUnlessTaken(trx, {
          slug: generateSlug(),
          pinCode: randomDigits(this.config.telephony.pinLength),
          accessLevel,
          configuration,
          createdByClientId: input.clientId,
        });
        if (inserted) {
          await this.repo.upsertRoomAccess(trx, inserted, input.ownerId, 'owner');
          return { ...inserted, attendees: [] };
        }
      }
      return undefined;
    });
    if (!room) {
      log.error(
        { event: 'room.pin_exhausted', attempts, pin_length: this.config.telephony.pinLength },
        'no unused slug and PIN found; raise ROOM_TELEPHONY_PIN_LENGTH or ROOM_TELEPHONY_PIN_MAX_RETRIES',
      );
      throw detailError(503, SERVICE_UNAVAILABLE);
    }
    log.info(
      { event: 'room.created', room_id: room.id, user_id: input.ownerId, client_id: input.clientId },
      'room created',
    );
    return room;
  }

  private async withAttendees(rooms: RoomRecord[]): Promise<Room[]> {
    const attendees = await this.repo.attendeesOf(this.db, rooms.map((r) => r.id));
    return rooms.map((room) => ({ ...room, attendees: attendees.get(room.id) ?? [] }));
  }

  /** The room (by id or slug) with its attendees, and the user's role on it; 404 when it does not exist. */
  private async roomAndRole(idOrSlug: string, userId: string): Promise<{ room: Room; role: Role | undefined }> {
    const key = parseRoomKey(idOrSlug);
    const found = key && (await this.repo.findRoomWithRoleAndAttendees(this.db, key, userId));
    if (!found) throw detailError(404, NOT_FOUND);
    return found;
  }

  /** The room (by id or slug), when the user holds any role on it. */
  async getRoomForUser(idOrSlug: string, userId: string): Promise<Room> {
    const { room, role } = await this.roomAndRole(idOrSlug, userId);
    if (role === undefined) throw detailError(403, FORBIDDEN);
    return room;
  }

  /** One page of the rooms on which the user holds a role (optionally only the one with `slug`). */
  async listRoomsForUser(userId: string, page: number, pageSize: number, slug?: string): Promise<RoomPage> {
    const offset = (page - 1) * pageSize;
    // No user holds that many rooms, and the databases' integers would overflow: past the last page.
    if (offset > MAX_OFFSET) throw detailError(404, INVALID_PAGE);
    const { total, rooms } = await this.repo.pageOfUserRooms(this.db, userId, pageSize, offset, slug);
    // An empty page brings no count: the user has no rooms, or the page is past the last one.
    const count = total ?? (await this.repo.countRoomsOfUser(this.db, userId, slug));
    const lastPage = Math.max(1, Math.ceil(count / pageSize));
    if (page > lastPage) throw detailError(404, INVALID_PAGE);
    return { count, rooms };
  }

  async listAllRooms(): Promise<Room[]> {
    return this.withAttendees(await this.repo.listAllRooms(this.db));
  }

  /** Any room by id or slug, whoever holds it (operator commands). */
  async getRoom(idOrSlug: string): Promise<Room> {
    const key = parseRoomKey(idOrSlug);
    const room = key && (await this.repo.findRoom(this.db, key));
    if (!room) throw detailError(404, `No room has the id or slug ${idOrSlug}.`);
    return (await this.withAttendees([room]))[0] as Room;
  }

  /**
   * The room (by id or slug) a user may change: 404 when it does not exist, 403 unless
   * the user is its owner or an administrator. Settled before the change itself is judged.
   */
  async roomToUpdate(idOrSlug: string, userId: string): Promise<Room> {
    const { room, role } = await this.roomAndRole(idOrSlug, userId);
    if (role !== 'owner' && role !== 'administrator') throw detailError(403, FORBIDDEN);
    return room;
  }

  /** Applies a change asked through the API (validated already), after the API's access-level rule. */
  async updateRoomForApplication(room: Room, changes: RoomUpdate): Promise<Room> {
    this.checkApiAccessLevel(changes.access_level);
    return this.updateRoom(room, changes);
  }

  /** Changes any room (operator commands): checked against the same schema as the HTTP API. */
  async changeRoom(idOrSlug: string, changes: Record<string, unknown>): Promise<Room> {
    const checked = checkInput(RoomUpdateSchema, changes);
    return this.updateRoom(await this.getRoom(idOrSlug), checked);
  }

  /** Replaces the attendee list of any room (operator commands). */
  setAttendees(idOrSlug: string, attendees: readonly string[]): Promise<Room> {
    return this.changeRoom(idOrSlug, { attendees });
  }

  /**
   * Applies a validated change: each option present replaces the stored one, in one
   * transaction (a refused change writes nothing; nothing present changes nothing).
   */
  async updateRoom(room: Room, changes: RoomUpdate): Promise<Room> {
    const accessLevel = changes.access_level;
    const configuration = changes.configuration === undefined ? undefined : (changes.configuration ?? {});
    const attendees = changes.attendees === undefined ? undefined : distinctAttendees(changes.attendees);
    if (accessLevel === undefined && configuration === undefined && attendees === undefined) return room;
    const found = await this.db.transaction().execute(async (trx) => {
      if (!(await this.repo.updateRoomOptions(trx, room.id, { accessLevel, configuration }))) return false;
      if (attendees !== undefined) await this.repo.replaceAttendees(trx, room.id, attendees);
      return true;
    });
    if (!found) throw detailError(404, NOT_FOUND); // deleted meanwhile
    return { ...room, accessLevel: accessLevel ?? room.accessLevel, configuration: configuration ?? room.configuration, attendees: attendees ?? room.attendees };
  }

  /**
   * Deletes a room for an application acting as a user: only a room that application
   * created, and only for the room's owner. Each refusal says which rule failed.
   */
  async deleteRoomAsApplication(idOrSlug: string, userId: string, clientId: string, log: LogSink = this.logger): Promise<void> {
    const { room, role } = await this.roomAndRole(idOrSlug, userId);
    // Without a role the user is told what retrieve tells them, nothing about who created the room.
    if (role === undefined) throw detailError(403, FORBIDDEN);
    if (room.createdByClientId !== clientId) throw detailError(403, NOT_CREATED_BY_APPLICATION);
    if (role !== 'owner') throw detailError(403, NOT_OWNER);
    if ((await this.repo.deleteRoom(this.db, room.id)) === 'recordings') throw detailError(409, HAS_RECORDINGS);
    log.info({ event: 'room.deleted', room_id: room.id, user_id: userId, client_id: clientId }, 'room deleted');
  }

  /** Deletes any room (operator commands). */
  async deleteRoom(idOrSlug: string): Promise<Room> {
    const room = await this.getRoom(idOrSlug);
    if ((await this.repo.deleteRoom(this.db, room.id)) === 'recordings') throw detailError(409, HAS_RECORDINGS);
    this.logger.info({ event: 'room.deleted', room_id: room.id, user_id: null, client_id: null }, 'room deleted');
    return room;
  }

  /**
   * Who may skip the lobby. Public rooms admit everyone; an authenticated attendee joins
   * any room; trusted rooms admit any authenticated user; restricted rooms admit an
   * authenticated user holding a role on the room. Everyone else waits in the lobby.
   */
  async decideAdmission(idOrSlug: string, caller: AdmissionRequest): Promise<AdmissionDecision> {
    const email = caller.email ?? null;
    const key = parseRoomKey(idOrSlug);
    const room = key && (await this.repo.findRoom(this.db, key));
    if (!room) throw detailError(404, NOT_FOUND);
    if (room.accessLevel === 'public') return { decision: 'join', reason: 'public_room' };
    if (!caller.authenticated) return { decision: 'lobby', reason: 'authentication_required' };
    if (email !== null && (await this.repo.isAttendee(this.db, room.id, email))) {
      return { decision: 'join', reason: 'attendee' };
    }
    if (room.accessLevel === 'trusted') return { decision: 'join', reason: 'authenticated_in_trusted_room' };
    if (email !== null && (await this.repo.roleOfEmail(this.db, room.id, email)) !== undefined) {
      return { decision: 'join', reason: 'member_of_restricted_room' };
    }
    return { decision: 'lobby', reason: 'not_invited' };
  }

  async grantRole(roomId: string, userId: string, role: string): Promise<{ room: Room; role: Role }> {
    if (!(ROLES as readonly string[]).includes(role)) {
      throw new ApiError(400, { role: [`"${role}" is not a valid choice; roles: ${ROLES.join(', ')}.`] });
    }
    const room = await this.getRoom(roomId);
    await this.db.transaction().execute(async (trx) => {
      if (role !== 'owner') await this.keepAnOwner(trx, room, userId);
      await this.repo.upsertRoomAccess(trx, room, userId, role as Role);
    });
    return { room, role: role as Role };
  }

  /** Removes the user's role on the room (operator commands); a room keeps at least one owner. */
  async revokeRole(roomId: string, userId: string): Promise<Room> {
    const room = await this.getRoom(roomId);
    await this.db.transaction().execute(async (trx) => {
      await this.keepAnOwner(trx, room, userId);
      if (!(await this.repo.deleteRoomAccess(trx, room.id, userId))) {
        throw new ApiError(400, { user: ['This user holds no role on the room.'] });
      }
    });
    return room;
  }

  /** Refuses to take the owner role away from the room's only owner (under a lock: see lockRoomsOwnedBy). */
  private async keepAnOwner(trx: Kysely<Database>, room: Room, userId: string): Promise<void> {
    await this.repo.lockRoomsOwnedBy(trx, userId);
    if ((await this.repo.roleOfUser(trx, room.id, userId)) !== 'owner') return;
    const sole = await this.repo.roomsSolelyOwnedBy(trx, userId);
    if (sole.some((r) => r.id === room.id)) {
      throw new ApiError(400, { user: [`This user is the last owner of ${room.slug}: a room keeps at least one owner; make someone else owner first.`] });
    }
  }
}
