import type { IncomingMessage, ServerResponse } from 'node:http';
import { DomainError } from '../shared/errors.ts';
import { readBody } from './openai/read-json-body.ts';
import { sendJson } from './respond.ts';

/**
 * Reads a POST /graphql body within TOLLGATE_MAX_BODY_BYTES before yoga sees it (yoga sets no limit of
 * its own) and hands it over as a pre-read body, which yoga's node adapter takes instead of the stream.
 * Returns false when the body was too large and a 413 has been sent.
 */
export async function readGraphqlBody(req: IncomingMessage, res: ServerResponse, limit: number): Promise<boolean> {
  if (req.method !== 'POST') return true;
  try {
    const body = await readBody(req, limit);
    if (body.length > 0) (req as IncomingMessage & { body?: Buffer }).body = body;
    return true;
  } catch (error) {
    if (!(error instanceof DomainError) || error.code !== 'PAYLOAD_TOO_LARGE') throw error;
    sendJson(res, 413, { errors: [{ message: error.message, extensions: { code: error.code, http: { status: 413 } } }] });
    return false;
  }
}
