// `rasad helper`: the control helper (OONI Web Connectivity test-helper
// protocol), to run on a server outside the censored network. Runs until
// SIGINT/SIGTERM.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_HELPER_LISTEN, parseListen, startHelper } from '../../control/helper.js';
import { createLogger, layerLogger } from '../../log.js';
import { parseFlags, UsageError, type Command, type CommandIo } from '../command.js';

const usage = `Usage: rasad helper [--listen HOST:PORT] [--allow-private] [--max-concurrency N] [--ca-file F]

Serves the control helper: probes POST a URL and the addresses they resolved,
the helper measures them from here (DNS, TCP, TLS, HTTP) and answers in the
OONI Web Connectivity test-helper format. Run it outside the censored network
and give its URL to the probes (--control URL, or "controls" in the config).
It logs no client address and no measured URL. SIGINT or SIGTERM stops it.

  --listen HOST:PORT     address to listen on (default: ${DEFAULT_HELPER_LISTEN});
                         use 0.0.0.0:PORT to serve other machines
  --allow-private        also connect to private, loopback and link-local
                         addresses (for a lab; never on a public helper)
  --max-concurrency N    requests measured at once; more get 503 (default: 16)
  --ca-file F            extra CA certificate (PEM) to trust, e.g. the lab's
                         (default: the file NODE_EXTRA_CA_CERTS names, if set)
`;

export const helperCommand: Command = {
  name: 'helper',
  summary: 'serve the control helper (OONI test-helper protocol) for probes to compare with',
  usage,
  run(argv, io) {
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    return serveHelper(argv, io, stop.signal).finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });
  },
};

/** The command's body, stopped by `stop` instead of a process signal (tests drive it this way). */
export async function serveHelper(argv: string[], io: CommandIo, stop: AbortSignal): Promise<number> {
  const { values, positionals } = parseFlags('helper', argv, {
    listen: { type: 'string' },
    'allow-private': { type: 'boolean' },
    'max-concurrency': { type: 'string' },
    'ca-file': { type: 'string' },
  });
  if (values.help) return (io.stdout.write(usage), 0);
  if (positionals.length) throw new UsageError(`rasad helper: unexpected argument "${positionals[0]}"`);
  const listen = values.listen ?? DEFAULT_HELPER_LISTEN;
  if (!parseListen(listen)) throw new UsageError(`rasad helper: --listen: expected HOST:PORT (e.g. 0.0.0.0:8080), got "${listen}"`);
  let maxConcurrency = 16;
  if (values['max-concurrency'] !== undefined) {
    maxConcurrency = Number(values['max-concurrency']);
    if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > 1000) {
      throw new UsageError(`rasad helper: --max-concurrency: expected an integer from 1 to 1000, got "${values['max-concurrency']}"`);
    }
  }
  let extraCaPem: string | undefined;
  // Like the probe, the helper also trusts NODE_EXTRA_CA_CERTS (how the lab hands out its CA).
  const caFile = values['ca-file'] ?? io.env.NODE_EXTRA_CA_CERTS;
  if (caFile !== undefined && caFile !== '') {
    const path = resolve(io.cwd, caFile);
    try {
      extraCaPem = readFileSync(path, 'utf8');
    } catch (err) {
      throw new UsageError(`rasad helper: --ca-file: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!extraCaPem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`rasad helper: --ca-file: ${path} holds no PEM certificate`);
  }

  const logger = layerLogger(createLogger({ level: 'info', pretty: 'auto', destination: io.stderr }), 'http');
  let helper;
  try {
    helper = await startHelper({ listen, allowPrivate: values['allow-private'] === true, maxConcurrency, extraCaPem, logger });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UsageError(`rasad helper: cannot listen on ${listen}: ${e.code ?? e.message}`);
  }
  io.stdout.write(`rasad helper: listening on ${helper.url}${values['allow-private'] ? ' (private addresses allowed)' : ''}\n`);
  if (!stop.aborted) await new Promise<void>((done) => stop.addEventListener('abort', () => done(), { once: true }));
  await helper.close();
  io.stderr.write('rasad helper: stopped\n');
  return 0;
}
