// A response body read whole, up to a limit: a peer that sends gigabytes (a
// hostile helper or collector) is cut off at the limit instead of filling
// the heap. undici's body.text() has no limit.

/** The body went past the limit: the stream was destroyed there. */
export class BodyTooLargeError extends Error {
  override name = 'BodyTooLargeError';

  constructor(readonly limitBytes: number) {
    super(`the answer is larger than ${limitBytes} bytes`);
  }
}

export async function readBodyText(body: AsyncIterable<Uint8Array> & { destroy?(): void }, limitBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.byteLength;
    if (total > limitBytes) {
      body.destroy?.();
      throw new BodyTooLargeError(limitBytes);
    }
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks).toString('utf8');
}
