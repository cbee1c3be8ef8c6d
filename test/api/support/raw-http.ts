import { request as httpRequest } from 'node:http';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The body as it came over the wire (still compressed, if it was). */
  bytes: Buffer;
  /** When each chunk of the body arrived (ms after the request was sent). */
  chunkTimes: number[];
}

/**
 * One request that neither adds nor undoes a content coding (unlike fetch, which asks for and
 * decodes gzip and brotli on its own): the answer as a browser or a proxy receives it.
 */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const request = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers ?? {} },
      (response) => {
        const chunks: Buffer[] = [];
        const chunkTimes: number[] = [];
        response.on('data', (chunk: Buffer) => {
          chunks.push(chunk);
          chunkTimes.push(performance.now() - started);
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            headers: response.headers,
            bytes: Buffer.concat(chunks),
            chunkTimes,
          }),
        );
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end();
  });
}

/** The body of a reply, decoded by its Content-Encoding (br, gzip or none). */
export function decoded(reply: RawReply): Buffer {
  const encoding = reply.headers['content-encoding'];
  if (encoding === 'br') return brotliDecompressSync(reply.bytes);
  if (encoding === 'gzip') return gunzipSync(reply.bytes);
  if (encoding === undefined) return reply.bytes;
  throw new Error(`unexpected Content-Encoding ${String(encoding)}`);
}
