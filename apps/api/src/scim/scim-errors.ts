import { Catch, Logger, type ArgumentsHost, type ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { toErrorBody } from '../common/error.filter.js';

const SCIM_ERROR_SCHEMA = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const SCIM_CONTENT_TYPE = 'application/scim+json; charset=utf-8';

/** RFC 7644 §3.12 `scimType`s used here (plus `tooMany` for a full plan's seats, see the README). */
export type ScimType =
  | 'invalidFilter'
  | 'invalidSyntax'
  | 'invalidValue'
  | 'invalidPath'
  | 'noTarget'
  | 'mutability'
  | 'uniqueness'
  | 'tooMany'
  | 'invalidVers';

/** A SCIM error answer: `{ schemas: [Error], status: "409", scimType?, detail }`. */
export class ScimError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly scimType?: ScimType,
  ) {
    super(detail);
    this.name = 'ScimError';
  }
}

/** The error body SCIM clients read, from any exception the SCIM routes meet. */
function scimErrorBody(exception: unknown): {
  status: number;
  body: Record<string, unknown>;
  headers?: Record<string, string>;
} {
  if (exception instanceof ScimError) {
    return {
      status: exception.status,
      body: {
        schemas: [SCIM_ERROR_SCHEMA],
        status: String(exception.status),
        ...(exception.scimType ? { scimType: exception.scimType } : {}),
        detail: exception.detail,
      },
    };
  }
  // The API's own errors (seats, owner rules, storage, a body that is not JSON) keep their status and message.
  const { status, body, headers } = toErrorBody(exception);
  const scimType: ScimType | undefined =
    status === 409 && (body.error.code === 'SEAT_LIMIT_REACHED' || body.error.code === 'AGENT_SEAT_LIMIT_REACHED')
      ? 'tooMany'
      : status === 400
        ? 'invalidValue'
        : undefined;
  return {
    status,
    headers,
    body: {
      schemas: [SCIM_ERROR_SCHEMA],
      status: String(status),
      ...(scimType ? { scimType } : {}),
      detail: body.error.message,
    },
  };
}

/** Every exception under `/scim/v2` answers in SCIM's error format, `application/scim+json`. */
@Catch()
export class ScimErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('Scim');

  catch(exception: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const { status, body, headers } = scimErrorBody(exception);
    for (const [name, value] of Object.entries(headers ?? {})) response.setHeader(name, value);
    if (status >= 500 && !(exception instanceof ScimError))
      this.logger.error(exception instanceof Error ? (exception.stack ?? exception.message) : String(exception));
    response.status(status).type(SCIM_CONTENT_TYPE).send(JSON.stringify(body));
  }
}
