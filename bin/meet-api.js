#!/usr/bin/env node
// Thin launcher: the command line lives in src/cli.ts, compiled to dist/ by `npm ci` (prepare).
import '../dist/cli.js';
