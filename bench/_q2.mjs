import { openDatabase } from '../dist/db/database.js';
import * as rooms from '../dist/rooms/rooms.repository.js';
import * as apps from '../dist/applications/applications.repository.js';
const h = openDatabase({ databaseUrl: 'sqlite:' + process.argv[2], databasePoolMax: 5, databaseStatementTimeoutMs: 5000 });
const db = h.db;
const a = await db.selectFrom('room_accesses').select('user_id').executeTakeFirst();
const uid = a.user_id;
const app = await db.selectFrom('applications').select('client_id').executeTakeFirst();
const list = await rooms.listRoomsOfUser(db, uid, 20, 0);
const ids = list.map(r => r.id);
const cases = {
  auth: () => apps.findAuthSubjects(db, app.client_id, uid),
  count: () => rooms.countRoomsOfUser(db, uid),
  list: () => rooms.listRoomsOfUser(db, uid, 20, 0),
  att: () => rooms.attendeesOf(db, ids),
  roomRole: () => rooms.findRoomWithRole(db, { id: ids[0] }, uid),
};
for (const [k, f] of Object.entries(cases)) {
  for (let i = 0; i < 2000; i++) await f();
  const N = 10000; const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) await f();
  console.log(k, (Number(process.hrtime.bigint() - t) / N / 1000).toFixed(1), 'µs');
}
await h.close();
