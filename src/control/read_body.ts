// Reading a request body with a size cap and a deadline, for the helper's
// endpoints (the OONI control and /rasad/v1/long).
import type { IncomingMessage } from 'node:http';
import { HelperRequestError } from './helper_request.js';

/** The request body, at most `max` bytes, in full within `deadlineMs`; else a HelperRequestError (413, 408). */
export function readBody(req: IncomingMessage, max: number, deadlineMs: number): Promise<string> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > max) {
    req.resume();
    return Promise.reject(new HelperRequestError(413, `request body larger than ${max} bytes`));
  }
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const timer = setTimeout(() => fail(new HelperRequestError(408, `request body not received within ${deadlineMs} ms`)), deadlineMs);
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > max) return fail(new HelperRequestError(413, `request body larger than ${max} bytes`));
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onError = (err: Error) => fail(err);
    function cleanup() {
      clearTimeout(timer);
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    }
    function fail(err: Error) {
      cleanup();
      req.on('error', () => {});
      req.resume();
      reject(err);
    }
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onError);
  });
}
