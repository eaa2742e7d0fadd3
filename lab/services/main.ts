// The common entry point of the lab's service programs: read the JSON config
// named on the command line, start, print one "ready" line (the harness
// waits for it in the log), and stop cleanly on SIGTERM/SIGINT.
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

export interface Running {
  close(): Promise<void> | void;
}

/** true when this module is the program node was started with. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(entry).href === moduleUrl;
}

export function log(service: string, message: string): void {
  process.stdout.write(`${new Date().toISOString()} ${service}: ${message}\n`);
}

export function runService<C>(name: string, start: (config: C) => Promise<Running>): void {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write(`usage: node --import tsx lab/services/${name}.ts <config.json>\n`);
    process.exit(2);
  }
  let config: C;
  try {
    config = JSON.parse(readFileSync(file, 'utf8')) as C;
  } catch (err) {
    process.stderr.write(`${name}: cannot read config ${file}: ${(err as Error).message}\n`);
    process.exit(2);
  }
  // One bad connection must not take a lab service down.
  process.on('uncaughtException', (err) => log(name, `uncaught: ${err.stack ?? err}`));
  start(config).then(
    (running) => {
      log(name, 'ready');
      const stop = () => {
        Promise.resolve(running.close()).finally(() => process.exit(0));
        setTimeout(() => process.exit(0), 2000).unref();
      };
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
    (err: Error) => {
      process.stderr.write(`${name}: failed to start: ${err.stack ?? err}\n`);
      process.exit(1);
    },
  );
}
