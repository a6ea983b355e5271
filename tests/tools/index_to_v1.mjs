// node index_to_v1.mjs INDEX.sqlite EVENTS.jsonl — turns a current index back into schema version 1
// (tags as text rows), filling the version-1 tags table from the events themselves, so that the
// next open has a real migration to do. For scripts/crash-soak.sh (kills during the migration).
// The index must be closed and checkpointed (archivist exited cleanly).
import Database from 'better-sqlite3';
import fs from 'node:fs';
import readline from 'node:readline';

const [dbPath, eventsPath] = process.argv.slice(2);
if (!dbPath || !eventsPath) {
    console.error('usage: node index_to_v1.mjs INDEX.sqlite EVENTS.jsonl');
    process.exit(2);
}
const db = new Database(dbPath);
db.pragma('journal_mode = DELETE');
const rowidOf = db.prepare('SELECT rowid FROM events WHERE id = ?');
db.exec('BEGIN');
db.exec('DROP TABLE tags');
db.exec('CREATE TABLE tags(name TEXT NOT NULL, value TEXT NOT NULL, event INTEGER NOT NULL,' +
        ' PRIMARY KEY(name, value, event)) WITHOUT ROWID');
const insert = db.prepare('INSERT OR IGNORE INTO tags(name, value, event) VALUES (?, ?, ?)');
const lines = readline.createInterface({ input: fs.createReadStream(eventsPath), crlfDelay: Infinity });
let events = 0, rows = 0;
for await (const line of lines) {
    if (!line.trim()) continue;
    const e = JSON.parse(line);
    const row = rowidOf.get(Buffer.from(e.id, 'hex'));
    if (!row) continue;
    ++events;
    for (const t of e.tags) {
        if (t.length < 2 || t[0].length !== 1 || Buffer.byteLength(t[1]) > 512) continue;
        rows += insert.run(t[0], t[1], row.rowid).changes;
    }
}
db.pragma('user_version = 1');
db.exec('COMMIT');
db.close();
console.error(`index_to_v1: ${events} events, ${rows} version-1 tag rows`);
