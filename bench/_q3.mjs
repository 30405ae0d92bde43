import SQLite from 'better-sqlite3';
const c = new SQLite(process.argv[2]);
c.pragma('journal_mode = WAL'); c.pragma('synchronous = NORMAL'); c.pragma('wal_autocheckpoint = 0');
const uid = c.prepare("select user_id from room_accesses limit 1").get().user_id;
const list = c.prepare(`select rooms.id, rooms.slug, rooms.pin_code, rooms.access_level, rooms.created_by_client_id, rooms.created_at from room_accesses inner join rooms on rooms.id = room_accesses.room_id where room_accesses.user_id = ? order by room_accesses.room_created_at desc, room_accesses.room_id desc limit ? offset ?`);
function bench(label){ const N=20000; let t=process.hrtime.bigint(); for(let i=0;i<N;i++) list.all(uid,20,0); console.log(label, (Number(process.hrtime.bigint()-t)/N/1000).toFixed(1),'µs'); }
bench('before'); bench('before');
const upd = c.prepare("update rooms set updated_at = ? where id = ?");
const ids = c.prepare("select id from rooms").all().map(r => r.id);
for (let i = 0; i < Number(process.argv[3]); i++) { c.prepare('begin immediate').run(); upd.run(new Date().toISOString(), ids[i % ids.length]); c.prepare('commit').run(); }
bench('after ' + process.argv[3] + ' commits');
c.pragma('wal_checkpoint(TRUNCATE)'); bench('after checkpoint');
