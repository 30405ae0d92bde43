#!/usr/bin/env node
// Thin launcher: the command line lives in src/cli/, compiled to dist/ by `npm ci` (prepare).
import { runCli } from '../dist/cli/index.js';

runCli(process.argv).then((code) => {
  process.exitCode = code;
});
