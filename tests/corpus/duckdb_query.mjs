#!/usr/bin/env node
// Usage: node duckdb_query.mjs SQL
// Runs one SQL statement in an in-memory DuckDB (@duckdb/node-api, the DuckDB engine itself) and
// prints its rows as one JSON array of objects (BIGINTs as numbers). For docs/analysis.md's
// commands in tests/integration/test_research.sh.
import { DuckDBInstance } from '@duckdb/node-api';

if (process.argv.length !== 3) {
  process.stderr.write('usage: duckdb_query.mjs SQL\n');
  process.exit(2);
}
const instance = await DuckDBInstance.create(':memory:');
const connection = await instance.connect();
const reader = await connection.runAndReadAll(process.argv[2]);
const rows = reader.getRowObjectsJson();
process.stdout.write(JSON.stringify(rows) + '\n');
