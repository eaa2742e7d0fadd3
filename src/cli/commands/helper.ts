// `rasad helper`: the control helper (OONI Web Connectivity test-helper
// protocol), to run on a server outside the censored network. Runs until
// SIGINT/SIGTERM.
import { MAX_CA_FILE_BYTES, readBoundedText, readFailure } from '../../read-bounded.js';
import { resolve } from 'node:path';
import { DEFAULT_HELPER_LISTEN, parseListen, startHelper } from '../../control/helper.js';
import { createLogger, layerLogger } from '../../log.js';
import { PortInUseError } from '../../errors.js';
import { parseCommandLine, usageOf, UsageError, type Command, type CommandIo, type CommandSpec, type FlagSpecs } from '../command.js';

const helperSpec = {
  name: 'helper',
  summary: 'serve the control helper (OONI test-helper protocol) for probes to compare with',
  description: `Serves the control helper: probes POST a URL and the addresses they resolved,
the helper measures them from here (DNS, TCP, TLS, HTTP) and answers in the
OONI Web Connectivity test-helper format. Run it outside the censored network
and give its URL to the probes (--control URL, or "controls" in the config).
It logs no client address and no measured URL. SIGINT or SIGTERM stops it.`,
  flags: {
    listen: {
      type: 'string',
      value: 'HOST:PORT',
      default: DEFAULT_HELPER_LISTEN,
      help: `address to listen on (default: ${DEFAULT_HELPER_LISTEN});\nuse 0.0.0.0:PORT to serve other machines`,
    },
    'allow-private': {
      type: 'boolean',
      help: 'also connect to private, loopback and link-local\naddresses (for a lab; never on a public helper)',
    },
    'max-concurrency': { type: 'integer', min: 1, max: 1000, default: 64, help: 'requests measured at once; more get 503 (default: 64, above a probe\'s default web concurrency of 20)' },
    'ca-file': {
      type: 'string',
      value: 'F',
      help: "extra CA certificate (PEM) to trust, e.g. the lab's\n(default: the file NODE_EXTRA_CA_CERTS names, if set)",
    },
  },
} as const satisfies CommandSpec<FlagSpecs>;

const usage = usageOf(helperSpec);

export const helperCommand: Command = {
  name: helperSpec.name,
  summary: helperSpec.summary,
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
  const { help, flags: values } = parseCommandLine(helperSpec, argv);
  if (help) return (io.stdout.write(usage), 0);
  const listen = values.listen;
  if (!parseListen(listen)) throw new UsageError(`rasad helper: --listen: expected HOST:PORT (e.g. 0.0.0.0:8080), got "${listen}"`);
  const maxConcurrency = values['max-concurrency'];
  let extraCaPem: string | undefined;
  // Like the probe, the helper also trusts NODE_EXTRA_CA_CERTS (how the lab hands out its CA).
  const caFile = values['ca-file'] ?? io.env.NODE_EXTRA_CA_CERTS;
  if (caFile !== undefined && caFile !== '') {
    const path = resolve(io.cwd, caFile);
    try {
      extraCaPem = readBoundedText(path, MAX_CA_FILE_BYTES);
    } catch (err) {
      throw new UsageError(`rasad helper: --ca-file: cannot read ${path}: ${readFailure(err)}`);
    }
    if (!extraCaPem.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`rasad helper: --ca-file: ${path} holds no PEM certificate`);
  }

  const logger = layerLogger(createLogger({ level: 'info', pretty: 'auto', destination: io.stderr }), 'http');
  let helper;
  try {
    helper = await startHelper({ listen, allowPrivate: values['allow-private'] === true, maxConcurrency, extraCaPem, logger });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new PortInUseError(`rasad helper: cannot listen on ${listen}: ${e.code ?? e.message}`);
  }
  io.stdout.write(`rasad helper: listening on ${helper.url}${values['allow-private'] ? ' (private addresses allowed)' : ''}\n`);
  if (!stop.aborted) await new Promise<void>((done) => stop.addEventListener('abort', () => done(), { once: true }));
  await helper.close();
  io.stderr.write('rasad helper: stopped\n');
  return 0;
}
