#!/usr/bin/env node
// npm links the bins of dependencies into node_modules/.bin, never the project's own. This
// links bin/meet-api.js there too (run by `prepare`, so by `npm ci` and `npm install`),
// which is what makes `npx meet-api ...` work inside the repository.
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const binDir = path.join(root, 'node_modules', '.bin');
const link = path.join(binDir, 'meet-api');
fs.mkdirSync(binDir, { recursive: true });
fs.rmSync(link, { force: true });
fs.symlinkSync(path.relative(binDir, path.join(root, 'bin', 'meet-api.js')), link);
