import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { DomainError, badInput } from '../../shared/errors.ts';

/** Reads the whole body up to `limit` bytes; a larger body is refused as soon as it crosses the limit. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    // The request lives as long as its answer (a stream's minutes), and so do its listeners: once the
    // body is read none may keep its bytes. A request with no 'error' listener emits no error.
    const onEnd = () => {
      req.off('data', onData).off('error', reject);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    };
    req.on('data', onData).once('end', onEnd).on('error', reject);
  });
}

const tooLarge = (limit: number) => new DomainError('PAYLOAD_TOO_LARGE', `the request body is larger than the limit of ${limit} bytes`);

/** Parses and validates a JSON body; every failure names what was wrong and where. */
export async function readJsonBody<T extends z.ZodType>(req: IncomingMessage, schema: T, limit: number): Promise<z.infer<T>> {
  const contentType = req.headers['content-type'] ?? '';
  if (!contentType.toLowerCase().includes('application/json')) {
    req.resume();
    throw badInput(`the request body must be JSON (Content-Type: application/json), got "${contentType || 'none'}"`);
  }
  const body = await readBody(req, limit);
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (error) {
    throw badInput(`the request body is not valid JSON: ${(error as Error).message}`);
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const param = issue.path.map(String).join('.');
    throw badInput(param ? `${param}: ${issue.message}` : issue.message, { param: param || null });
  }
  return result.data;
}
