#!/usr/bin/env node
// The executable: runs the CLI with the process's streams and exits with its code.
import { main } from './cli/root.js';

main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`rasad: internal error: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
