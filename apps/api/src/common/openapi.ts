import { applyDecorators, Controller } from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';

/** Documents a JSON body in OpenAPI from the same zod schema that validates it. */
export const ApiJsonBody = (schema: z.ZodType, summary?: string) =>
  applyDecorators(
    ApiBody({ schema: z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown> }),
    ...(summary ? [ApiOperation({ summary })] : []),
  );

/**
 * A controller of the REST API and its group in the OpenAPI document, said once: `'teams'` serves
 * its routes under `/teams` and tags them `teams`. Where the two differ, an object: `path` (none: each
 * route gives its whole path) and the `tags`.
 */
export const ApiController = (where: string | { path?: string; tags: string[] }) => {
  const { path, tags } = typeof where === 'string' ? { path: where, tags: [where] } : where;
  return applyDecorators(ApiTags(...tags), path === undefined ? Controller() : Controller(path));
};
