import type { Response } from 'express';

/**
 * Writes a chunk of a streamed answer and, when the socket's buffer is full, waits until it drains
 * (or the client leaves): the back-pressure of the exports, so memory holds one page at a time.
 */
export function write(response: Response, chunk: string): Promise<void> {
  if (response.destroyed || response.writableEnded) return Promise.resolve();
  if (response.write(chunk)) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}
