#!/usr/bin/env node
// The executable: runs the CLI with the process's streams and exits with its code.
import { EXIT } from './errors.js';
import { main } from './cli/root.js';

const argv = process.argv.slice(2);

// A reader that went away (`rasad status --json | head -1`) is not an error:
// the reader has what it wanted, so stop quietly, as `head` users expect.
// Any other failure of the output (a full disk under `> export.jsonl`, /dev/full) ends the command with
// one line that says so, not a stack: what was written is all there is, and the exit code says it failed.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') process.exit(EXIT.ok);
  process.stderr.write(`rasad: cannot write to standard output (${err.message}); the output is incomplete\n`);
  process.exit(EXIT.failed);
});
// With stderr gone (`rasad once 2>&1 | head -1`) there is nowhere to say anything: the work goes on, unlogged.
process.stderr.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE' || err.code === 'ERR_STREAM_DESTROYED') return;
  throw err;
});

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
    process.exitCode = EXIT.internal;
  },
);
