/** A room as the API shows it (RoomSchema), and nothing more. */
import type { Config } from '../config.js';
import type { RoomView } from './rooms.schemas.js';
import type { Room } from './rooms.service.js';

export type { RoomView };

export type RoomViewConfig = Pick<Config, 'baseUrl' | 'telephony'>;

export function viewRoom(room: Room, config: RoomViewConfig): RoomView {
  const view = {
    id: room.id,
    name: room.name,
    slug: room.slug,
    access_level: room.accessLevel,
    configuration: room.configuration,
    attendees: room.attendees,
  } as RoomView;
  if (config.baseUrl !== undefined) view.url = `${config.baseUrl}/${room.slug}`;
  if (config.telephony.enabled) {
    view.telephony = {
      enabled: true,
      pin_code: room.pinCode,
      phone_number: config.telephony.phoneNumber,
      default_country: config.telephony.defaultCountry,
    };
  }
  return view;
}
