// Transaction ids for a web unit's network steps (df-001/df-005/df-006
// `transaction_id`, df-008 network events). OONI's pipeline joins a
// tcp_connect, a tls_handshake and a request into one observation by
// transaction_id, and only falls back to matching by IP address when there is
// none. rasad's probes each open their own connection, so a transaction here
// is one endpoint (ip:port) in one attempt of the unit: the TCP probe's
// connect, the TLS probe's real-SNI handshake and the HTTP hops to it. The
// innocuous-SNI handshake is a transaction of its own (a consumer that
// ignores its tag loses nothing of the site's own steps), as is a step that
// has no endpoint.

export class TransactionIds {
  private next = 1;
  private readonly byEndpoint = new Map<string, number>();

  /** A new id that nothing else shares. */
  fresh(): number {
    return this.next++;
  }

  /** The id of `address` ("ip:port" or "[ip]:port") in attempt `attempt`. */
  endpoint(attempt: number, address: string): number {
    const key = `${attempt}\n${address}`;
    let id = this.byEndpoint.get(key);
    if (id === undefined) {
      id = this.fresh();
      this.byEndpoint.set(key, id);
    }
    return id;
  }

  /** true when some step of attempt `attempt` already used `address`. */
  has(attempt: number, address: string): boolean {
    return this.byEndpoint.has(`${attempt}\n${address}`);
  }
}

/** One df-008 network event. */
export interface NetworkEvent {
  address: string;
  failure: string | null;
  num_bytes?: number;
  operation: string;
  proto: string;
  t0: number;
  t: number;
  tags: string[];
  transaction_id: number;
}

/**
 * The events of one TLS probe handshake: its connect, then the handshake's
 * start and end. OONI's pipeline reads a handshake's events by its
 * transaction_id (the first must carry the handshake's address) and takes the
 * handshake time from the first to the last, so every handshake gets its own
 * three, in time order, and nothing else joins them.
 */
export function handshakeEvents(h: {
  address: string;
  t0: number;
  t: number;
  /** When the connect ended (seconds, the unit's clock). */
  connectEnd: number;
  connectFailure: string | null;
  failure: string | null;
  transactionId: number;
  tags: string[];
}): NetworkEvent[] {
  if (h.connectFailure !== null) return [event(h, 'connect', h.connectFailure, h.t0, h.connectEnd)];
  return [
    event(h, 'connect', null, h.t0, h.connectEnd),
    event(h, 'tls_handshake_start', null, h.connectEnd, h.connectEnd),
    event(h, 'tls_handshake_done', h.failure, h.connectEnd, h.t),
  ];
}

// Literal objects of one shape (no spread), built by a function made once, not per handshake: the export builds millions of them.
function event(h: { address: string; tags: string[]; transactionId: number }, operation: string, failure: string | null, t0: number, t: number): NetworkEvent {
  return {
    address: h.address,
    failure,
    operation,
    proto: 'tcp',
    t0,
    t,
    tags: h.tags,
    transaction_id: h.transactionId,
  };
}
