#!/usr/bin/env node
// The executable: runs the CLI with the process's streams and exits with its code.
import { main } from './cli/root.js';

const argv = process.argv.slice(2);

main(argv, { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }).then(
  (code) => {
    process.exitCode = code;
    // `once` has stored and closed everything when main returns; what can still hold the process open are
    // getaddrinfo calls on a dead network, which cannot be cancelled. Do not wait for them.
    // (stdout and stderr are synchronous for files, pipes and terminals on Linux: nothing is lost.)
    if (argv[0] === 'once') process.exit(code);
  },
  (err: Error) => {
    process.stderr.write(`rasad: internal error: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
