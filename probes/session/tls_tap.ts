// Seeing a TLS close_notify. Node reports a server's clean TLS close
// (close_notify, then FIN) and a bare TCP FIN under TLS the same way: an
// 'end' on the TLSSocket (verified in tests/probes/tls_duration_endings.test.ts).
// A censor that cuts a session with a forged FIN sends no close_notify (it
// cannot: the alert is encrypted), so the difference is the evidence.
//
// The TLS layer is therefore run over a tap: a Duplex that forwards a raw
// net.Socket and watches the TLS record headers going by. Two signs of a
// close_notify: the TLS layer ends its stream while the TCP stream is still
// open (it read an alert, not an EOF), or the last record before the FIN is
// an alert-sized one (type 21 up to TLS 1.2; in TLS 1.3 alerts travel as
// application_data, and an encrypted two-byte alert is a 19-byte record).
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

const RECORD_HEADER = 5;
const ALERT = 21;
const APPLICATION_DATA = 23;
/** A TLS 1.3 encrypted alert: 2 bytes, the inner content type, a 16-byte AEAD tag. */
const TLS13_ALERT_RECORD = 19;
/** An encrypted TLS 1.2 alert is small (GCM: 26 bytes; CBC with a MAC: under 64). */
const TLS12_ALERT_MAX = 64;

/** Follows TLS record boundaries in a byte stream without keeping the bytes. */
export class TlsRecordWatcher {
  private header = Buffer.alloc(RECORD_HEADER);
  private headerFill = 0;
  private bodyLeft = 0;
  private currentType = 0;
  private currentLength = 0;
  /** Type and length of the last record seen whole; 0 before any. */
  lastType = 0;
  lastLength = 0;

  feed(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - pos);
        this.bodyLeft -= take;
        pos += take;
        if (this.bodyLeft === 0) this.completeRecord();
        continue;
      }
      const take = Math.min(RECORD_HEADER - this.headerFill, chunk.length - pos);
      chunk.copy(this.header, this.headerFill, pos, pos + take);
      this.headerFill += take;
      pos += take;
      if (this.headerFill === RECORD_HEADER) {
        this.headerFill = 0;
        this.currentType = this.header[0]!;
        this.currentLength = this.header.readUInt16BE(3);
        this.bodyLeft = this.currentLength;
        if (this.bodyLeft === 0) this.completeRecord();
      }
    }
  }

  private completeRecord(): void {
    this.lastType = this.currentType;
    this.lastLength = this.currentLength;
  }

  /** Does the last whole record look like an alert (close_notify), with nothing after it? */
  lastLooksLikeAlert(): boolean {
    if (this.headerFill !== 0 || this.bodyLeft !== 0) return false;
    if (this.lastType === ALERT) return this.lastLength <= TLS12_ALERT_MAX;
    return this.lastType === APPLICATION_DATA && this.lastLength === TLS13_ALERT_RECORD;
  }
}

/**
 * A Duplex over a raw TCP socket that lets the TLS layer read and write
 * through it while the raw events stay visible. The raw socket's own
 * 'end' and 'error' are the session's to listen to.
 */
export class TappedSocket extends Duplex {
  readonly records = new TlsRecordWatcher();

  constructor(readonly raw: Socket) {
    super({ allowHalfOpen: true });
    raw.on('data', (chunk: Buffer) => {
      this.records.feed(chunk);
      if (!this.push(chunk)) raw.pause();
    });
    raw.on('end', () => this.push(null));
    raw.on('error', (err) => this.destroy(err));
    raw.on('close', () => this.destroy());
  }

  override _read(): void {
    this.raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.raw.write(chunk, callback);
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.raw.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.raw.destroy();
    callback(err);
  }
}
